"""Tests of `POST /api/v1/send`: its body, and a real server composing and storing."""
