"""La narration en français."""

from __future__ import annotations

from typing import Final

import postier.protocol.smtp as core
from postier.ends import EndReason
from postier.protocol.smtp import ClientState, State

from .texts import Say, Texts

FRENCH: Final = Texts(
    says={
        Say.ACCEPTED: "client {peer} connecté sur le port {port} (clients connectés : {count})",
        Say.REFUSED: "client {peer} refusé : {reason}",
        Say.TLS_UP: "TLS est établi ({info}) : tout ce qui précède est oublié, le client "
        "redit EHLO (RFC 3207 §4.2)",
        Say.TOO_LONG: "une ligne de plus de {limit} octets : jetée à mesure, jamais gardée "
        "(RFC 5321 §4.5.3.1.4)",
        Say.BARE_LF: "cette ligne finit par LF seul, pas par CR LF (RFC 5321 §2.3.8) : c'est "
        "ce qu'envoie nc s'il n'est pas lancé en `nc -C HÔTE PORT`. Les commandes passent "
        "quand même, mais le message ne finit qu'à CR LF . CR LF",
        Say.UNPARSED: "ce n'est pas une commande de la grammaire de SMTP : la réponse dit "
        "ce qui ne va pas",
        Say.SECRET: "une ligne de l'échange AUTH (cachée : elle porte les identifiants)",
        Say.MOVE: "{before} → {after} : {meaning}",
        Say.NEXT: "le serveur attend maintenant {verbs}",
        Say.UNKNOWN_VERB: "postier connaît ces commandes : {verbs} (RFC 5321 §4.1.1)",
        Say.SEQUENCE: "pas maintenant : dans cet état le serveur accepte {verbs} (RFC 5321 §4.1.4)",
        Say.DATA_MORE: "… et {count} lignes de plus du message, non montrées",
        Say.STORED: "la boîte de <{recipient}> le garde : {path} ({size} octets)",
        Say.ON_DISK: "chaque copie est écrite et forcée sur le disque : alors seulement le "
        "client peut entendre 250",
        Say.UNSYNCED: "chaque copie est écrite (--no-fsync : pas forcée sur le disque, une "
        "coupure de courant peut la perdre) : le client entend 250",
        Say.NOT_STORED: "le message n'a pas pu être gardé : aucune copie ne reste, le client "
        "entend 451 et pourra le renvoyer plus tard",
        Say.UNKNOWN_CODE: "une réponse que postier ne sait pas dire",
        Say.CODE: "{code} : {meaning}",
        Say.HINT: "{what} : {hint}",
        Say.COMPOSED: "le message est écrit : {size} octets, sujet « {subject} », pour "
        "{recipients}",
        Say.GREETED: "le serveur est prêt : le client se présente (EHLO)",
        Say.GO_ON: "{code} ({meaning}) : le client peut continuer",
        Say.DATA_ALLOWED: "354 permet les données : le message de l'écrivain part, puis "
        "une ligne faite d'un seul '.'",
        Say.DATA_SENT: "le '.' seul finit le message : la réponse du serveur dira s'il est gardé",
        Say.TRY_LATER: "{code} ({meaning}) : un 4xx est temporaire, réessayer plus tard ; "
        "le client ne va pas plus loin avec lui",
        Say.STOPPED: "{code} ({meaning}) : un 5xx est définitif, le client s'arrête là",
        Say.CLIENT_DONE: "la conversation est finie",
        Say.NOTE: "{note}",
        Say.CHAOS: "chaos ({trigger}) : cet échec est voulu, pour éprouver la réaction du "
        "client ; un vrai serveur pourrait répondre de même",
    },
    states={
        State.CONNECTED: "accueilli ; le client doit se présenter (EHLO ou HELO)",
        State.READY: "aucune transaction en cours ; un message commence par MAIL FROM",
        State.MAIL: "l'expéditeur est connu ; maintenant les destinataires, RCPT TO",
        State.RCPT: "au moins un destinataire ; encore RCPT TO, ou DATA (ou BDAT) pour le message",
        State.DATA: "lecture du message, ligne à ligne, jusqu'à une ligne faite d'un seul '.'",
        State.BDAT: "lecture des octets d'un morceau BDAT (RFC 3030)",
        State.CHUNKING: "entre deux morceaux BDAT : encore BDAT, ou BDAT ... LAST pour finir",
        State.DELIVERING: "le message est complet ; les intermédiaires le gardent avant toute "
        "réponse",
        State.TLS_PENDING: "220 envoyé à STARTTLS : la poignée de main TLS vient ensuite",
        State.AUTH: "334 envoyé : la ligne suivante répond au défi d'AUTH (RFC 4954 §4)",
        State.AUTH_CHECKING: "identifiants reçus ; le mot de passe est vérifié",
        State.SENDER_CHECKING: "MAIL a passé les contrôles ; la politique du serveur "
        "statue sur l'expéditeur",
        State.RECIPIENT_CHECKING: "RCPT a passé les contrôles ; la politique du serveur "
        "statue sur le destinataire (--accept, --reject, chaos)",
        State.CLOSED: "la conversation est finie",
    },
    commands={
        core.Helo: "HELO : le client se nomme {name} (SMTP simple, sans extensions)",
        core.Ehlo: "EHLO : le client se nomme {name} et demande les extensions (ESMTP)",
        core.Mail: "MAIL : un nouveau message, de <{sender}>",
        core.Rcpt: "RCPT : un destinataire, <{recipient}>, dont la boîte gardera une copie",
        core.Data: "DATA : le message lui-même vient ensuite",
        core.Rset: "RSET : oublier la transaction en cours",
        core.Noop: "NOOP : rien à faire, juste un signe de vie",
        core.Vrfy: "VRFY : cette adresse existe-t-elle ? ({argument})",
        core.Help: "HELP : un mot d'aide",
        core.Quit: "QUIT : le client a fini",
        core.StartTls: "STARTTLS : continuer sous TLS",
        core.Auth: "AUTH : se connecter avec {mechanism}",
        core.Bdat: "BDAT : un morceau du message, {size} octets",
    },
    events={
        core.HeloAccepted: "le client s'appelle désormais {name}",
        core.TransactionStarted: "une transaction commence : l'expéditeur est <{sender}>",
        core.SenderOffered: "la politique du serveur examine l'expéditeur <{sender}>",
        core.RecipientOffered: "la politique du serveur examine <{recipient}> (de <{sender}>) : "
        "l'accepter, le refuser pour de bon (5xx) ou pour l'instant (4xx)",
        core.RecipientAccepted: "<{recipient}> rejoint la transaction (destinataires pour "
        "l'instant : {count})",
        core.DataStarted: "les lignes du message suivent",
        core.DataChunk: "une ligne du message",
        core.MessageComplete: "le message est complet : {size} octets, destinataires : "
        "{count} ; le serveur le confie à leurs intermédiaires",
        core.MessageRefused: "le message est refusé ({size} octets) : rien n'est gardé",
        core.CommandRefused: "refusée, et la conversation continue",
        core.CredentialsReceived: "les identifiants sont arrivés (non montrés) ; vérification",
        core.StartTlsRequested: "la poignée de main TLS commence",
        core.Closing: "le serveur met fin à la conversation",
    },
    codes={
        211: "état du système",
        214: "aide",
        220: "prêt : le service est ouvert",
        221: "au revoir : le serveur ferme la connexion",
        235: "connecté",
        250: "fait",
        252: "vérification impossible, mais le courrier sera accepté",
        334: "continuez : l'échange AUTH attend une autre ligne",
        354: "allez-y : envoyez le message, finissez-le par une ligne faite d'un seul '.'",
        421: "le service ferme : réessayez plus tard",
        450: "boîte occupée : réessayez plus tard",
        451: "erreur locale : rien n'a été gardé, réessayez plus tard",
        452: "pas assez de place pour l'instant : réessayez plus tard",
        454: "TLS n'est pas disponible pour l'instant",
        455: "ces paramètres ne peuvent pas être pris maintenant",
        500: "incompris : commande inconnue, ou ligne trop longue",
        501: "les arguments de la commande sont faux",
        502: "non implémentée",
        503: "mauvais ordre : pas maintenant",
        504: "ce paramètre n'est pas implémenté",
        530: "connectez-vous d'abord (AUTH)",
        535: "nom d'utilisateur ou mot de passe faux",
        538: "seulement sous TLS",
        550: "boîte inconnue, ou interdite",
        551: "l'utilisateur n'est pas ici",
        552: "trop gros pour le serveur",
        553: "ce nom de boîte n'est pas permis",
        554: "la transaction a échoué",
        555: "paramètres de MAIL ou RCPT non reconnus",
    },
    ends={
        EndReason.CLIENT_CLOSED: "le client a fermé la connexion",
        EndReason.QUIT: "QUIT : 221 dit, la connexion est fermée",
        EndReason.SHUTDOWN: "le serveur s'arrête : 421 à chaque client, un message en cours "
        "fini d'abord",
        EndReason.TIMEOUT: "le client n'a rien dit à temps : 421, et la connexion est coupée",
        EndReason.INTERNAL_ERROR: "une erreur dans postier : 421 au client, les détails "
        "dans le journal",
        EndReason.REFUSED: "refusé à la porte",
        EndReason.CONNECTION_LOST: "la connexion a été perdue",
        EndReason.TLS_FAILED: "la poignée de main TLS a échoué",
        EndReason.CLOSED: "le serveur a clos la conversation (trop d'erreurs, par exemple)",
        EndReason.CHAOS: "chaos : le serveur a raccroché au milieu du message, exprès ; "
        "rien n'est gardé, le client doit le renvoyer",
    },
    sequence_hints={
        core.Helo: "HELO/EHLO n'est pas accepté ici : finissez d'abord le message en cours",
        core.Ehlo: "HELO/EHLO n'est pas accepté ici : finissez d'abord le message en cours",
        core.Mail: "MAIL vient après EHLO (ou HELO), une fois par message : envoyez d'abord "
        "EHLO, ou finissez le message en cours (ou RSET) ; RFC 5321 §4.1.4",
        core.Rcpt: "l'expéditeur doit venir d'abord, MAIL FROM:<...> ; RFC 5321 §4.1.4",
        core.Data: "DATA demande un expéditeur et au moins un destinataire : MAIL FROM:<...> "
        "puis RCPT TO:<...> ; RFC 5321 §4.1.1.4",
        core.Bdat: "BDAT demande un expéditeur et au moins un destinataire, et ne peut pas "
        "suivre DATA ; RFC 3030 §2",
        core.Rset: "RSET n'est pas accepté au milieu d'un message",
        core.Noop: "NOOP n'est pas accepté au milieu d'un message",
        core.Vrfy: "VRFY n'est pas accepté au milieu d'un message",
        core.Help: "HELP n'est pas accepté au milieu d'un message",
        core.Quit: "QUIT n'est pas accepté au milieu d'un message",
        core.StartTls: "STARTTLS vient après EHLO, une seule fois, hors transaction ; RFC 3207 §4",
        core.Auth: "AUTH vient après EHLO, une seule fois, hors transaction (et sous TLS sauf "
        "permission) ; RFC 4954 §4",
    },
    syntax_hints={
        core.Helo: "la forme est HELO votre-domaine ; RFC 5321 §4.1.1.1",
        core.Ehlo: "la forme est EHLO votre-domaine ; RFC 5321 §4.1.1.1",
        core.Mail: "la forme est MAIL FROM:<adresse>, chevrons compris ; RFC 5321 §4.1.1.2",
        core.Rcpt: "la forme est RCPT TO:<adresse>, chevrons compris ; RFC 5321 §4.1.1.3",
        core.Data: "DATA ne prend pas d'argument ; RFC 5321 §4.1.1.4",
        core.Rset: "RSET ne prend pas d'argument ; RFC 5321 §4.1.1.5",
        core.Noop: "la forme est NOOP, avec un mot facultatif ; RFC 5321 §4.1.1.9",
        core.Vrfy: "la forme est VRFY adresse ; RFC 5321 §4.1.1.6",
        core.Help: "la forme est HELP, avec un mot facultatif ; RFC 5321 §4.1.1.8",
        core.Quit: "QUIT ne prend pas d'argument ; RFC 5321 §4.1.1.10",
        core.StartTls: "STARTTLS ne prend pas d'argument ; RFC 3207 §4",
        core.Auth: "la forme est AUTH MÉCANISME [réponse-initiale] ; RFC 4954 §4",
        core.Bdat: "la forme est BDAT taille [LAST] ; RFC 3030 §2",
    },
    client_states={
        ClientState.CONNECTED: "connecté ; le client attend l'accueil du serveur (RFC 5321 §3.1)",
        ClientState.REJECTED: "l'accueil refuse le service (554) : il ne reste que QUIT",
        ClientState.GREETED: "accueilli (ou TLS vient de commencer) : le client se présente, EHLO",
        ClientState.HELLO: "EHLO envoyé (ou HELO, si EHLO n'est pas compris)",
        ClientState.READY: "aucune transaction en cours : le client peut en commencer une, "
        "MAIL FROM",
        ClientState.STARTTLS: "STARTTLS envoyé ; le client attend 220",
        ClientState.TLS_HANDSHAKE: "220 à STARTTLS : la poignée de main TLS se déroule",
        ClientState.AUTH: "connexion : l'échange SASL continue (RFC 4954)",
        ClientState.ENVELOPE: "MAIL, RCPT et DATA envoyés (ensemble, avec PIPELINING)",
        ClientState.DATA: "354 entendu : le message part",
        ClientState.MESSAGE: "le '.' seul est envoyé : le client attend le verdict du serveur",
        ClientState.RESET: "RSET envoyé : la transaction est oubliée",
        ClientState.NOOP: "NOOP envoyé",
        ClientState.QUIT: "QUIT envoyé : le client attend 221",
        ClientState.CLOSED: "la conversation est finie",
    },
    client_events={
        core.Greeting: "le serveur accueille le client",
        core.ClientGreeted: "le serveur a dit quelles extensions il offre",
        core.TlsReady: "le serveur est prêt pour TLS",
        core.Authenticated: "la connexion est acceptée",
        core.DataReady: "le serveur attend le message",
        core.Refused: "le serveur a refusé {command}",
        core.Done: "le serveur est d'accord",
        core.Closed: "la connexion est fermée",
        core.TransactionDone: "la transaction est finie : destinataires acceptés {accepted}, "
        "refusés {refused}",
    },
)
