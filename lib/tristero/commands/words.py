"""The command words of other languages: German and Spanish words for the robot's
commands, and the language each is in, so that a reply answers in the language its
commands were written in (robot) and a member who subscribes with SUSCRIBIR reads
Spanish from then on.

The Spanish words are those of the Majordomo guide (ayuda, suscribir, desuscribir,
dar de baja); the rest are the words a German or Spanish reader would write first.
A word is a synonym like a command's own (registry.lookup); a command may name its
own word among its names too (HELP has AYUDA), but a word another command takes is a
mistake the registry raises at start. No command that carries a secret
(PASSWORD, SETPASS, ONECLICK) has a word here: core.redact and the robot's echo know
their English verbs only, and a password after another word would be kept and echoed.
"""

# word -> (the command it names, its language)
WORDS = {
    # Spanish
    "AYUDA": ("HELP", "es"),
    "SUSCRIBIR": ("SUBSCRIBE", "es"),
    "SUSCRIBIRSE": ("SUBSCRIBE", "es"),
    "ALTA": ("SUBSCRIBE", "es"),
    "DESUSCRIBIR": ("UNSUBSCRIBE", "es"),
    "DESUSCRIBIRSE": ("UNSUBSCRIBE", "es"),
    "BAJA": ("UNSUBSCRIBE", "es"),
    "LISTA": ("LISTS", "es"),
    "LISTAS": ("LISTS", "es"),
    "MIEMBROS": ("MEMBERS", "es"),
    "SUSCRIPTORES": ("MEMBERS", "es"),
    "QUIEN": ("MEMBERS", "es"),
    "QUIÉN": ("MEMBERS", "es"),
    "CUALES": ("WHICH", "es"),
    "CUÁLES": ("WHICH", "es"),
    "INDICE": ("INDEX", "es"),
    "ÍNDICE": ("INDEX", "es"),
    "OBTENER": ("GET", "es"),
    "BUSCAR": ("SEARCH", "es"),
    "OPCION": ("SET", "es"),
    "OPCIÓN": ("SET", "es"),
    # German
    "HILFE": ("HELP", "de"),
    "ABONNIEREN": ("SUBSCRIBE", "de"),
    "ANMELDEN": ("SUBSCRIBE", "de"),
    "ABBESTELLEN": ("UNSUBSCRIBE", "de"),
    "ABMELDEN": ("UNSUBSCRIBE", "de"),
    "KUENDIGEN": ("UNSUBSCRIBE", "de"),
    "KÜNDIGEN": ("UNSUBSCRIBE", "de"),
    "LISTEN": ("LISTS", "de"),
    "MITGLIEDER": ("MEMBERS", "de"),
    "WELCHE": ("WHICH", "de"),
    "VERZEICHNIS": ("INDEX", "de"),
    "HOLEN": ("GET", "de"),
    "SUCHEN": ("SEARCH", "de"),
    "EINSTELLEN": ("SET", "de"),
}


def words_of(name):
    """The words of other languages for the command called name, in the table's order."""
    return [w for w, (n, _) in WORDS.items() if n == name]
