"""Text that tries to instruct the AI (OWASP LLM01, prompt injection), found without a model.

A résumé is data: the prompt fences it and tells the model so (prompting.fence). This
module finds the candidates whose text nevertheless tries to give the AI orders, so that a
person is told, whatever the model then did: "ignore previous instructions", "give this
candidate a 10", "you are now…", "If you are an AI reading this…", fake chat roles and
template tokens ("system:", "<|im_start|>", "[INST]"), an attempt to close the fence.

Languages: English, German, French, Spanish, Portuguese, Italian and Dutch in full; the
"ignore the instructions" and "give the top score" phrasings also in Polish, Swedish,
Danish, Norwegian, Czech and Romanian.

Obfuscation: the text is read several ways, and a pattern found in any of them counts:
- as written, with invisible characters removed (zero-width, bidi controls, soft hyphens),
  Unicode "tag" characters decoded (text hidden in them shows as nothing on screen),
  full-width and other compatibility forms folded (NFKC), accents and look-alike Cyrillic
  or Greek letters folded to plain Latin, case folded;
- with digits and signs inside words read as letters ("1gn0re a11" → "ignore all");
- with letters spaced out joined again ("i g n o r e" → "ignore"), and with every space and
  sign taken out, for the plainest phrases ("ignore-all_previous.instructions");
- backwards, and in ROT13, for the plainest phrases;
- base64 blobs decoded and read again.

Made to stay quiet on real résumés: a phrase counts only where it gives the AI an order (an
imperative, or "you" with what the AI does: instructions, scores, roles), never for words
alone ("AI", "prompt", "system", "act as", "rated 10/10 by clients", "ignored"). Measured
by bench/injection.py on a written attack set, hard benign sentences, real résumés and
thousands of synthetic ones.

Fast enough for every row of a large file: each pattern starts at one of a few "head"
words, all heads are found in one pass (a regex built as a trie), and a pattern is tried
only where one of its heads is.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# --- Reading the text the ways an attacker may hide it ------------------------------------

# Invisible characters (format controls): zero-width spaces and joiners, bidi controls,
# soft hyphens, the word joiner, variation selectors, the byte-order mark.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e001f\U000e0080-\U000e0fff]"
)
# Unicode tag characters U+E0020..U+E007E mirror printable ASCII and show as nothing.
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Cyrillic and Greek letters that look like Latin ones ("іgnоre" with Cyrillic і and о),
# and typographic quotes.
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁԛԝвнкмтɡєӏ" + "οαεικνρτυχ" + "‘’‚‛“”„‟´`" + "‐‑‒–—―−",
    "aeopcyxijsdqwbhkmtgei" + "oaeikvptux" + "''''\"\"\"\"''" + "-------",
)
# Runs of spaces, and any other blank but a line break (only those change).
_BLANKS = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
# A word written with digits or signs for letters: "1gn0r3", "pr3v10us", "@ll"; and a
# quick look for one (a sign between letters, or signs starting a word).
_LEET_WORD = re.compile(r"[a-z]*[0-9@$!|+][a-z0-9@$!|+]*")
# A digit or sign before a letter (found fast: the pattern starts with a set of signs).
_LEET_HINT = re.compile(r"[013457@$!|+][a-z]")
# A number with its unit or ordinal ("3rd", "$5k", "10x", "4g", "24h"): not a word in signs.
_NUMBER_WITH_UNIT = re.compile(
    r"\d(?:st|nd|rd|th|k|m|mm|b|bn|x|s|d|g|h|am|pm|yr|yrs|kg|km|mb|gb|tb|px|ms)\b"
)
_LEET = str.maketrans("03457@$!+", "oeastasit")
# Five or more single letters with one separator between them: "i g n o r e".
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*·]){4,}[^\W\d_](?![^\W\d_])")
_SPACED_SEPARATORS = re.compile(r"[ .\-_*·]")
_SPACED_HINT = re.compile(r" [^\W\d_][ .\-_*·][^\W\d_][ .\-_*·][^\W\d_][ .\-_*·][^\W\d_]")
# Every ASCII sign and blank, to take out ("ignore-all_previous" → "ignoreallprevious").
_SIGNS_AND_BLANKS = {code: None for code in range(128) if not chr(code).isalnum()}
_BASE64_MIN = 24
_BASE64 = re.compile(rf"[A-Za-z0-9+/]{{{_BASE64_MIN},}}={{0,2}}")
# A phrase with its words run together is at least this long ("ignoreallrules").
_RUN_TOGETHER = 12
_LONG_WORDS = re.compile(rf"\S{{{_RUN_TOGETHER},}}")


def normalise(text: str) -> str:
    """The text as the patterns read it: invisible characters out, hidden tag text
    decoded, compatibility forms, case, accents and look-alike letters folded, runs of
    spaces squeezed (line breaks kept: a line that starts with "system:" matters)."""
    if text.isascii():  # most résumés: nothing to fold but case (the quick way)
        text = text.lower()
    else:
        text = _TAGS.sub(lambda m: "".join(chr(ord(c) - 0xE0000) for c in m.group()), text)
        text = _INVISIBLE.sub("", text)
        text = unicodedata.normalize("NFKC", text).casefold()
        if not text.isascii():
            text = _MARKS.sub("", unicodedata.normalize("NFD", text)).translate(_LOOKALIKES)
    if "  " in text or any(blank in text for blank in "\t\r\f\v"):
        text = _BLANKS.sub(" ", text)
    return text


def _unleet(text: str) -> str:
    """Digits and signs inside words read as the letters they stand for; a 1 or a | is an
    i or an l, whichever makes a word the patterns know ("a11" → "all", "1gn0re" →
    "ignore"). Numbers alone ("10", "2019") stay numbers."""

    def word(match: re.Match[str]) -> str:
        found = match.group()
        if not any(ch.isalpha() for ch in found):
            return found
        read = found.translate(_LEET)
        ones = [i for i, ch in enumerate(read) if ch in "1|"]
        if not ones or len(ones) > 4:
            return read.replace("|", "i").replace("1", "i")
        chars = list(read)
        tries = []
        for letters in itertools.product("il", repeat=len(ones)):
            for at, letter in zip(ones, letters, strict=True):
                chars[at] = letter
            tries.append("".join(chars))
        return next((t for t in tries if t in _VOCABULARY), tries[0])

    return _LEET_WORD.sub(word, text)


def _has_signs_for_letters(text: str) -> bool:
    """Whether a digit or sign stands before a letter other than in an e-mail address
    ("x@y.com") or a number with its unit ("3rd", "$5k"): only then is the text read with
    signs for letters."""
    for match in _LEET_HINT.finditer(text):
        at = match.start()
        if text[at] == "@" and at and text[at - 1].isalnum():
            continue  # an e-mail address
        if _NUMBER_WITH_UNIT.match(text, at):
            continue
        return True
    return False


def _unspace(text: str) -> str:
    return _SPACED.sub(lambda m: _SPACED_SEPARATORS.sub("", m.group()), text)


# --- Patterns ------------------------------------------------------------------------------
#
# Each rule is (heads, pattern): the pattern is tried where one of its heads (plain words,
# "|" between them) starts. "{H}" in a pattern stands for its heads.

# Between two words: spaces, line breaks, quotes, dashes, colons, commas, brackets (not a
# full stop: a phrase does not run across sentences).
_ = r"[\s\"'*_~`|,:;()\[\]<>{}=-]+"
_W = r"[^\W_]+"  # one word


def _words(n: int) -> str:
    """Up to n words in between."""
    return rf"(?:{_W}{_}){{0,{n}}}"


# Where a note to the AI starts: the start of the text or of a line, after a sign.
_AFTER_A_BREAK = r"(?:(?<![\s\S])|(?<=[\n.!?(\[{<:>-])|(?<=[\n.!?(\[{<:>-] ))"
_AT_LINE_START = r"(?:(?<![\s\S])|(?<=\n)|(?<=\n )|(?<=[\[<(*#])|(?<=[\[<(*#] ))"

_EN_OBJECTS = (
    r"(?:instructions?|prompts?|rules|guidelines|directives?|directions|criteria|rubrics?|"
    r"commands|orders|guidance|constraints|programming|system prompt|system message|"
    r"scoring (?:rules|criteria|instructions))"
)
_EN_POINTERS = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|former|original|initial|all|any|"
    r"every|your|these|those)"
)
_EN_FILLERS = r"(?:the|of|all|any|your|my|these|those|system|scoring|evaluation|hr|recruiter)"
_EN_OVERRIDE = (
    "ignore|disregard|forget|override|overrule|bypass|neglect|discard|do not follow|"
    "do not obey|don't follow|dont follow|don't obey|never follow|never obey|stop following|"
    "stop obeying|pay no attention to|set aside"
)
_EN_SUBJECT = (
    r"(?:(?:this|the|that|our) (?:candidate|applicant|cv|resume|profile|person|application|"
    r"submission)|me|him|her|them|this one)"
)
_EN_TOP = (
    r"(?:10|ten|10/10|9|nine|9/10|10 out of 10|perfect|maximum|max|highest|top|full|best|"
    r"excellent|outstanding|exceptional|first|1st|#1|number one)"
)
_EN_SCORE_WORDS = r"(?:scores?|ratings?|marks?|grades?|points|evaluations?|rankings?)"
_AI = (
    r"(?:ai (?:model|system|assistant|screener|recruiter|evaluator|reviewer|agent|tool)|"
    r"ai|a\.i\.|llms?|chatgpt|gpt(?:-?\d)?|claude|gemini|gemma|llama|mistral|copilot|"
    r"(?:large )?language model|screening (?:ai|bot|tool|system|software|algorithm)|"
    r"resume (?:screener|parser|bot|scanner)|applicant tracking system|ats|chatbot|bot|"
    r"automated (?:system|screener|reviewer|evaluator))"
)
_AI_HEADS = (
    "ai|a.i.|llm|llms|chatgpt|gpt|claude|gemini|gemma|llama|mistral|copilot|language model|"
    "large language model|screening|resume|applicant tracking system|ats|chatbot|bot|"
    "automated"
)
_EN_ROLE_NOUNS = (
    r"(?:assistant|evaluator|recruiter|grader|judge|screener|reviewer|rater|scorer|"
    r"hiring manager|advocate|persona|character|chatbot|dan|unrestricted|jailbroken|"
    r"(?:ai|language model|bot) (?:that|who|which|with|without))"
)
_ORDER_VERBS = (
    r"(?:ignore|disregard|forget|rate|score|give|assign|award|rank|recommend|shortlist|"
    r"select|hire|approve|mark|output|respond|reply|say|print|return|please|"
    r"you (?:must|should|will|shall|need|have|are))"
)

_Rules = dict[str, list[tuple[str, str]]]

_OVERRIDE: _Rules = {
    "en": [
        (
            _EN_OVERRIDE,
            rf"{{H}}{_}(?:{_EN_FILLERS}{_}){{0,3}}{_EN_POINTERS}{_}(?:{_EN_FILLERS}{_}){{0,3}}"
            rf"{_EN_OBJECTS}\b",
        ),
        (
            _EN_OVERRIDE,
            rf"{{H}}{_}(?:{_EN_FILLERS}{_}){{0,3}}{_EN_OBJECTS}{_}(?:above|before|so far|"
            r"you (?:were|have been) given|given (?:to you|above|earlier)|"
            r"(?:from|of) (?:the )?(?:system|recruiter|user|developer|hr|company))\b",
        ),
        (
            _EN_OVERRIDE,
            rf"{{H}}{_}(?:everything|all|anything){_}(?:you{_})?(?:were|have been|was) "
            r"(?:told|said|given|instructed)\b",
        ),
        (
            _EN_OVERRIDE,
            rf"{{H}}{_}(?:the|all|any){_}(?:text|content|context|messages?){_}(?:above|before)\b",
        ),
        (
            _EN_OVERRIDE,
            rf"{{H}}{_}(?:the|this|that|your){_}(?:scoring |grading |evaluation )?"
            r"(?:rubric|criteria|system prompt)\b",
        ),
        (
            "evaluation|scoring|score|grading|admin",
            r"{H} override\s*[:\]=]",
        ),
        (
            "new|overriding|override|real|actual|true|hidden|secret",
            rf"{{H}}{_}(?:system{_})?(?:instructions?|prompt|directives?|task|orders)\s*"
            r"(?::|-|follow)",
        ),
        (
            "do not|don't|dont|never",
            rf"{{H}}{_}(?:mention|reveal|disclose|tell|report|flag|note|repeat){_}"
            rf"{_words(2)}(?:this|these|that|those){_}(?:instructions?|text|message|note|"
            r"lines?|prompt|request)\b",
        ),
    ],
    "de": [
        (
            "ignoriere|ignorier|ignorieren sie|missachte|missachten sie|vergiss|vergessen sie|"
            "uberspringe|uberspringen sie|verwirf|verwerfen sie|beachte nicht|"
            "beachten sie nicht",
            rf"{{H}}{_}{_words(3)}(?:anweisungen|anweisung|instruktionen|anordnungen|regeln|"
            r"vorgaben|befehle|richtlinien|kriterien|prompts?|aufgabenstellung)\b",
        ),
        (
            "neue|geheime|eigentliche|wichtige",
            r"{H}\s+(?:anweisungen|instruktionen|aufgabe)\s*:",
        ),
    ],
    "fr": [
        (
            "ignore|ignores|ignorez|oublie|oublies|oubliez|neglige|negliges|negligez|ecarte|"
            "ecartez|ne tiens pas compte|ne tenez pas compte|fais abstraction|"
            "faites abstraction|ne suis plus|ne suivez plus|ne suis pas|ne suivez pas",
            rf"{{H}}{_}{_words(3)}(?:instructions?|consignes?|regles|directives?|criteres|"
            r"ordres|prompts?|indications)\b",
        ),
        ("nouvelles|vraies|veritables", r"{H}\s+(?:instructions|consignes)\s*:"),
    ],
    "es": [
        (
            "ignora|ignore|ignoren|olvida|olvide|olviden|omite|omita|descarta|descarte|"
            "desestima|haz caso omiso|no hagas caso|no sigas",
            rf"{{H}}{_}{_words(3)}(?:instrucciones|instruccion|indicaciones|reglas|"
            r"directrices|criterios|ordenes|prompts?|consignas)\b",
        ),
        ("nuevas|verdaderas", r"{H}\s+(?:instrucciones|ordenes)\s*:"),
    ],
    "pt": [
        (
            "ignore|ignora|ignorem|esqueca|esquece|esquecam|desconsidere|desconsidera|"
            "despreze|descarte|nao sigas|nao siga",
            rf"{{H}}{_}{_words(3)}(?:instrucoes|instrucao|regras|diretrizes|criterios|ordens|"
            r"prompts?|orientacoes|indicacoes)\b",
        ),
        ("novas|verdadeiras", r"{H}\s+(?:instrucoes|ordens)\s*:"),
    ],
    "it": [
        (
            "ignora|ignorate|ignori|dimentica|dimenticate|dimentichi|trascura|tralascia|"
            "non tenere conto|non considerare|non seguire",
            rf"{{H}}{_}{_words(3)}(?:istruzioni|istruzione|regole|direttive|indicazioni|"
            r"criteri|ordini|prompt|consegne)\b",
        ),
        ("nuove|vere", r"{H}\s+(?:istruzioni|direttive)\s*:"),
    ],
    "nl": [
        (
            "negeer|negeert|vergeet|sla|verwerp|volg niet",
            rf"{{H}}{_}{_words(3)}(?:instructies|instructie|opdrachten|regels|richtlijnen|"
            r"aanwijzingen|criteria|prompts?)\b",
        ),
        ("nieuwe|echte", r"{H}\s+(?:instructies|opdracht)\s*:"),
    ],
    "pl": [
        (
            "zignoruj|ignoruj|zapomnij|pomin",
            rf"{{H}}{_}{_words(3)}(?:instrukcje|instrukcji|polecenia|polecen|zasady|regul)\b",
        ),
    ],
    "sv": [
        (
            "ignorera|glom|strunta i",
            rf"{{H}}{_}{_words(3)}(?:instruktioner|instruktionerna|regler|reglerna|"
            r"anvisningar|anvisningarna)\b",
        ),
    ],
    "da-no": [
        (
            "ignorer|glem|se bort fra",
            rf"{{H}}{_}{_words(3)}(?:instruktioner|instruktionerne|instruksjoner|"
            r"instruksjonene|regler|reglerne|reglene)\b",
        ),
    ],
    "cs": [
        (
            "ignoruj|ignorujte|zapomen|zapomente",
            rf"{{H}}{_}{_words(3)}(?:instrukce|pokyny|pravidla)\b",
        ),
    ],
    "ro": [
        (
            "ignora|ignorati|uita|uitati",
            rf"{{H}}{_}{_words(3)}(?:instructiunile|instructiuni|regulile|indicatiile)\b",
        ),
    ],
}

_SCORE: _Rules = {
    "en": [
        (
            "give|assign|award|grant|rate|score|grade|mark|rank|put",
            rf"{{H}}{_}{_EN_SUBJECT}{_}(?:(?:a|an|the|with|as|at|of|only|straight|all|full)"
            rf"{_}){{0,3}}{_EN_TOP}\b",
        ),
        (
            "give|assign|award|grant",
            rf"{{H}}{_}(?:{_EN_SUBJECT}{_})?(?:(?:a|an|the){_})?(?:highest|maximum|max|top|"
            rf"perfect|full|best|10|ten){_}(?:possible{_})?{_EN_SCORE_WORDS}\b",
        ),
        (
            "score|scores|rating|ratings|mark|marks|grade|grades|points",
            rf"{{H}}{_}(?:of{_})?(?:10|ten|10/10|the maximum){_}(?:on|for|in|across){_}"
            rf"(?:all|every|each){_}(?:criteria|criterion|categories|category|dimensions|"
            r"fields|scores|areas)\b",
        ),
        (
            "all|every|each",
            rf"{{H}}{_}(?:the{_})?(?:scores?|criteria|criterion|ratings?){_}(?:must|should|"
            r"shall|need to|has to|have to|are to) be (?:10|ten|maximum|max|the highest|"
            r"perfect|the maximum)\b",
        ),
        (
            "this candidate|the candidate|this applicant|the applicant",
            rf"{{H}}(?: is| has)?{_}(?:must|should|shall|has to|needs to|is to) (?:be )?"
            r"(?:rated|scored|ranked|graded|marked|shortlisted|selected|recommended)\b",
        ),
        (
            "give|assign|award",
            rf"{{H}}{_}(?:10|ten|the maximum|maximum|full marks|the top score){_}(?:to|for|on)"
            rf"{_}(?:technical_skills|cultural_fit|leadership_potential|all|every|each|"
            r"this candidate|me)\b",
        ),
        (
            "deserve|deserves|merit|merits|warrant|warrants",
            rf"{{H}}{_}(?:(?:a|an|the){_})?(?:10|ten|perfect|maximum|highest|top|full){_}"
            rf"{_EN_SCORE_WORDS}\b",
        ),
        (
            "rank|put|place|list",
            rf"{{H}}{_}{_EN_SUBJECT}{_}(?:at{_})?(?:the{_})?(?:first|top|#1|number one|"
            r"above (?:all|every|the other))\b",
        ),
    ],
    "de": [
        (
            "gib|geben sie|vergib|vergeben sie|bewerte|bewerten sie|benote|benoten sie",
            r"{H}(?: diesem| diesen| dem| den| der| die)? (?:kandidaten|kandidatin|bewerber|"
            rf"bewerberin|bewerbung|lebenslauf|profil|mir|ihm|ihr){_}{_words(3)}(?:10|zehn|"
            r"hochste|hochsten|maximale|maximalen|volle|vollen|bestnote|bestbewertung|"
            r"hochstpunktzahl|hochstnote)\b",
        ),
        (
            "gib|geben sie|vergib|vergeben sie",
            rf"{{H}}{_}{_words(3)}(?:die )?(?:hochste|maximale|volle|beste) (?:punktzahl|"
            r"bewertung|note|punkte|wertung)\b",
        ),
        (
            "dieser|diese|der|die",
            rf"{{H}} (?:kandidat|kandidatin|bewerber|bewerberin){_}(?:muss|soll|sollte) "
            r"(?:\w+ ){0,3}(?:bewertet|eingestuft|ausgewahlt|empfohlen)\b",
        ),
    ],
    "fr": [
        (
            "donne|donnes|donnez|attribue|attribues|attribuez|accorde|accordes|accordez|mets|"
            "mettez",
            r"{H}(?:-(?:lui|moi|leur)| (?:a )?ce(?:tte)? (?:candidat|candidate|profil|cv)| lui|"
            rf" moi)?{_}{_words(2)}(?:la )?(?:note|score|evaluation|notation|classement) "
            r"(?:maximale|maximum|la plus haute|la plus elevee|parfaite|de 10|10|de dix)\b",
        ),
        (
            "note|notes|notez|evalue|evalues|evaluez|classe|classes|classez",
            r"{H}(?:-moi| (?:ce(?:tte)? (?:candidat|candidate|profil|cv)|moi))"
            rf"{_}{_words(2)}(?:a )?(?:10|dix|excellent|premier|premiere|maximum|20/20)\b",
        ),
        (
            "donne|donnes|donnez|mets|mettez|attribue|attribues|attribuez",
            r"{H}(?:-lui|-moi| lui| moi) (?:un )?(?:10|dix|20)(?:/10|/20| sur 10| sur 20)?\b",
        ),
        (
            "ce candidat|cette candidate",
            r"{H}(?: doit| devrait) (?:etre|recevoir|obtenir) (?:note|notee|classe|classee|"
            r"selectionne|selectionnee|recommande|recommandee|la note)\b",
        ),
    ],
    "es": [
        (
            "dale|dele|denle|asigna|asignale|asigne|otorga|otorgale|otorgue|ponle|pon",
            rf"{{H}}{_}{_words(3)}(?:la )?(?:puntuacion|calificacion|nota|puntaje|valoracion)"
            r" (?:maxima|mas alta|perfecta|de 10|10|de diez)\b",
        ),
        (
            "da a este|da a esta",
            rf"{{H}} (?:candidato|candidata|perfil|cv){_}{_words(3)}(?:la )?(?:puntuacion|"
            r"calificacion|nota|puntaje|valoracion) (?:maxima|mas alta|perfecta|de 10|10)\b",
        ),
        (
            "calificame|puntuame|evaluame|valorame",
            rf"{{H}}{_}{_words(2)}(?:con )?(?:un |una |la )?(?:10|diez|maxima|excelente|"
            r"primero)\b",
        ),
        (
            "califica|puntua|evalua|valora|clasifica",
            rf"{{H}} (?:a )?(?:este|esta) (?:candidato|candidata|perfil|cv){_}{_words(2)}"
            r"(?:con )?(?:un |una |la )?(?:10|diez|maxima|excelente|primero)\b",
        ),
        ("dale|dele|ponle", r"{H} (?:un )?(?:10|diez)\b"),
        (
            "este candidato|esta candidata",
            r"{H} (?:debe|deberia|tiene que) (?:ser|recibir|obtener) (?:calificad|puntuad|"
            r"seleccionad|recomendad|la (?:maxima|mejor))",
        ),
    ],
    "pt": [
        (
            "atribua|atribui|conceda|coloque|de-lhe|de-me|de lhe|da-lhe|da-me|da lhe",
            rf"{{H}}{_}{_words(3)}(?:a )?(?:nota|pontuacao|avaliacao|classificacao) "
            r"(?:maxima|mais alta|perfeita|10|dez)\b",
        ),
        (
            "de a este|da a este|de a esta|da a esta",
            rf"{{H}} (?:candidato|candidata|perfil){_}{_words(3)}(?:a )?(?:nota|pontuacao|"
            r"avaliacao|classificacao) (?:maxima|mais alta|perfeita|10|dez)\b",
        ),
        (
            "avalie|classifique|pontue|avalia|classifica",
            r"{H}(?:-me| (?:este|esta) (?:candidato|candidata|perfil|cv))"
            rf"{_}{_words(2)}(?:com )?(?:um |uma |a )?(?:10|dez|nota maxima|maxima|"
            r"excelente)\b",
        ),
        (
            "este candidato|esta candidata",
            r"{H} (?:deve|deveria|tem de|tem que) (?:ser|receber|obter) (?:avaliad|"
            r"classificad|selecionad|recomendad|a (?:nota|pontuacao) maxima)",
        ),
    ],
    "it": [
        (
            "dai|dagli|dalle|dammi|assegna|assegnagli|assegnami|attribuisci|attribuiscigli|"
            "metti|mettigli",
            r"{H}(?: a questo (?:candidato|profilo|cv)| a questa candidata)?"
            rf"{_}{_words(2)}(?:il |un )?(?:punteggio|voto|valutazione) (?:massimo|massima|"
            r"piu alto|piu alta|pieno|perfetto|di 10|10|di dieci)\b",
        ),
        (
            "valutami|classificami",
            rf"{{H}}{_}{_words(2)}(?:con )?(?:un |il )?(?:10|dieci|massimo|eccellente|primo)\b",
        ),
        (
            "valuta|classifica",
            rf"{{H}} (?:questo (?:candidato|profilo|cv)|questa candidata){_}{_words(2)}"
            r"(?:con )?(?:un |il )?(?:10|dieci|massimo|eccellente|primo)\b",
        ),
        ("dammi", r"{H} (?:un )?(?:10|dieci)\b"),
        (
            "questo candidato|questa candidata",
            r"{H} (?:deve|dovrebbe) (?:essere|ricevere|ottenere) (?:valutat|classificat|"
            r"selezionat|raccomandat|il (?:massimo|punteggio massimo))",
        ),
    ],
    "nl": [
        (
            "geef|geeft|ken",
            r"{H} (?:deze (?:kandidaat|sollicitant|cv)|mij|me|hem|haar)"
            rf"{_}{_words(3)}(?:een )?(?:10|tien|hoogste|maximale|volle|perfecte|beste)\b",
        ),
        (
            "beoordeel|waardeer|scoor|rangschik",
            r"{H} (?:deze (?:kandidaat|sollicitant|cv)|mij|me)"
            rf"{_}{_words(2)}(?:met |als )?(?:een )?(?:10|tien|hoogste|maximale|uitstekend|"
            r"eerste)\b",
        ),
        (
            "deze kandidaat|deze sollicitant",
            r"{H} (?:moet|zou|dient) (?:\w+ ){0,3}(?:krijgen|beoordeeld|geselecteerd|"
            r"aanbevolen)\b",
        ),
    ],
    "pl": [
        (
            "daj|przyznaj|wystaw",
            rf"{{H}}{_}{_words(3)}(?:10|dziesiec|najwyzsza|maksymalna) (?:ocene|ocena|punktow|"
            r"punktacje)\b",
        ),
    ],
    "sv": [
        (
            "ge|satt",
            rf"{{H}}{_}{_words(3)}(?:hogsta|maximala|full) (?:betyg|betyget|poang|poangen)\b",
        ),
    ],
}

_ROLE: _Rules = {
    "en": [
        (
            "you are now|you're now|you are no longer",
            rf"{{H}}{_}(?:(?:a|an|the|my|in|no longer){_})?(?:{_W}{_}){{0,2}}{_EN_ROLE_NOUNS}\b",
        ),
        (
            "from now on",
            rf"{{H}}{_}(?:you|your){_}(?:are|will|must|shall|should|only|answer|respond|act|"
            r"behave|role|task|job|instructions?|give|rate|score)\b",
        ),
        ("pretend", r"{H} (?:that )?you ?(?:are|'re)\b|{H} to be (?:a|an|the|my)\b"),
        (
            "imagine|assume|suppose",
            rf"{{H}} (?:that )?you ?(?:are|'re){_}(?:(?:a|an|the|my){_})?(?:{_W}{_}){{0,2}}"
            rf"{_EN_ROLE_NOUNS}\b",
        ),
        (
            "act|behave|respond|answer|roleplay|role play|role-play",
            rf"{{H}} as (?:if you were )?(?:a|an|my|the){_}(?:{_W}{_}){{0,2}}(?:advocate|fan|"
            r"supporter|friend|evaluator|recruiter|hiring manager|grader|judge|screener|ai|"
            r"assistant|chatbot) (?:who|that|which|and)\b",
        ),
        ("let's|lets|let us", r"{H} (?:role-?play|roleplay|play a game|play pretend|pretend)\b"),
        (
            "you are|you're",
            rf"{{H}}{_}(?:a|an|the|my){_}(?:{_W}{_}){{0,2}}(?:evaluator|grader|judge|screener|"
            r"rater|scorer) (?:who|that|which)\b",
        ),
        (
            "enter|switch to|switch into|enable|activate|you are in|now in",
            r"{H} (?:the )?(?:developer|dev|dan|god|admin|debug|jailbreak|unrestricted|sudo) "
            r"mode\b",
        ),
        ("do anything now", r"{H}\b"),
        (
            "your",
            r"{H} (?:new|real|actual|true|only|sole|primary|updated) (?:instructions?|task|role|"
            r"job|goal|objective|purpose|mission|orders) (?:is|are|will be|now)\b",
        ),
    ],
    "de": [
        (
            "du bist|sie sind|bist du",
            r"{H} (?:jetzt|nun|ab sofort|ab jetzt|von nun an) (?:ein|eine|der|die|mein|meine|"
            r"kein|keine)\b",
        ),
        (
            "ab jetzt|ab sofort|von nun an",
            r"{H},? (?:bist du|sind sie|wirst du|werden sie|musst du|mussen sie)\b",
        ),
        ("tu so|tue so", r"{H},? als (?:ob|wenn|warst|waerst) du\b"),
        ("stell dir vor|stellen sie sich vor", r"{H},? (?:du bist|du warst|sie sind|sie waren)\b"),
        (
            "deine",
            r"{H} (?:neue|eigentliche|wahre|einzige) (?:aufgabe|rolle|anweisung) (?:ist|lautet)\b",
        ),
    ],
    "fr": [
        (
            "tu es|vous etes",
            r"{H} (?:maintenant|desormais|a present|dorenavant) (?:un|une|le|la|mon|ma|l')",
        ),
        (
            "a partir de maintenant|desormais|dorenavant",
            r"{H},? (?:tu|vous) (?:es|etes|dois|devez|vas|allez|seras|serez)\b",
        ),
        ("fais semblant|faites semblant", r"{H} d'? ?(?:etre|avoir)\b"),
        ("imagine|imaginez", r"{H} que (?:tu es|vous etes) (?:un|une|le|la)\b"),
        (
            "ta|votre",
            r"{H} (?:nouvelle|vraie|veritable|seule) (?:tache|mission|consigne|role) est\b",
        ),
    ],
    "es": [
        (
            "ahora|a partir de ahora|desde ahora|de ahora en adelante",
            r"{H},? (?:eres|seras|tu eres|usted es|actuaras|debes|deberas)\b",
        ),
        ("finge|finja|fingid", r"{H} (?:ser|que eres|que es)\b"),
        ("imagina que eres", r"{H} (?:un|una|el|la)\b"),
        ("tu", r"{H} (?:nueva|verdadera|unica) (?:tarea|mision|funcion|instruccion) es\b"),
    ],
    "pt": [
        (
            "a partir de agora|de agora em diante|daqui para a frente",
            r"{H},? (?:voce|tu) (?:e|es|sera|deve|vai|passa a ser)\b",
        ),
        ("agora", r"{H} (?:voce|tu) (?:e|es) (?:um|uma|meu|minha)\b"),
        ("finja|finge|fingi", r"{H} (?:ser|que (?:e|es|voce e))\b"),
        ("imagine que", r"{H} (?:voce e|e) (?:um|uma)\b"),
        ("sua|tua", r"{H} (?:nova|verdadeira|unica) (?:tarefa|missao|funcao) e\b"),
    ],
    "it": [
        (
            "ora|adesso|d'ora in poi|da ora in poi|da adesso in poi|da adesso",
            r"{H},? (?:sei|tu sei|lei e|sarai|devi) (?:un|una|il|la|mio|mia)\b",
        ),
        ("fingi|finga|fate finta|fai finta", r"{H} di essere\b"),
        ("immagina di essere", r"{H} (?:un|una|il|la)\b"),
        ("il tuo", r"{H} (?:nuovo|vero|unico) (?:compito|ruolo) e\b"),
    ],
    "nl": [
        ("je bent|jij bent|u bent", r"{H} nu (?:een|de|het|mijn)\b"),
        ("vanaf nu", r"{H},? (?:ben je|bent u|moet je|moet u|zal je|ga je|geef je)\b"),
        ("doe alsof", r"{H} (?:je|jij|u)\b"),
        ("stel je voor dat je", r"{H} (?:een|de)\b"),
        ("je", r"{H} (?:nieuwe|echte|enige) (?:taak|rol|opdracht) is\b"),
    ],
}

_ADDRESS: _Rules = {
    "en": [
        (
            "if|when",
            rf"{{H}}{_}you ?(?:are|'re){_}(?:(?:a|an|the){_})?(?:{_AI}|machine|algorithm|"
            r"ai-powered)\b",
        ),
        (
            "note|message|instruction|instructions|notice|memo",
            rf"(?:{_AFTER_A_BREAK}|(?<=dear )|(?<=hey )|(?<=hi )|(?<=hello )|(?<=ps )|"
            rf"(?<=attention ))"
            rf"{{H}} (?:to|for){_}(?:the |any |all |every )?{_AI}\b",
        ),
        (
            "dear|attention|hey|hi|hello|greetings",
            rf"{{H}},?{_}(?:the |any |all |every )?{_AI}\s*[:,!]",
        ),
        ("as", rf"{{H}} an? {_AI}{_}you\b"),
        (
            "to|for|attention",
            rf"{{H}} (?:any|all|every|the) {_AI}{_}(?:reading|evaluating|screening|reviewing|"
            r"parsing|processing|scoring|analy[sz]ing|that reads?)\b",
        ),
        (
            _AI_HEADS,
            rf"\b{_AI}{_}(?:that is |who is |which is )?(?:reading|evaluating|screening|"
            r"reviewing|parsing|processing|scoring|analy[sz]ing) this (?:cv|resume|document|"
            r"application|profile|text|candidate|file|page)\b",
        ),
        (
            _AI_HEADS,
            rf"{_AFTER_A_BREAK}{_AI}\s*[:,]\s*(?:please{_})?{_ORDER_VERBS}\b",
        ),
    ],
    "de": [
        (
            "wenn|falls",
            r"{H} (?:du|sie) (?:eine? )?(?:ki|ai|llm|sprachmodell|bot|chatbot|"
            r"kunstliche intelligenz|ki-system|algorithmus) (?:bist|sind)\b",
        ),
        (
            "hinweis|nachricht|anweisung|anweisungen|notiz",
            r"{H} (?:an|fur) (?:die |das |den |jede )?(?:ki|ai|llm|sprachmodell|bot|"
            r"kunstliche intelligenz|ki-system)\b",
        ),
        ("liebe|lieber|hallo|hey|an die", r"{H} (?:ki|ai|llm)\s*[:,!]"),
    ],
    "fr": [
        (
            "si tu es|si vous etes",
            r"{H} (?:une? |l')?(?:ia|i\.a\.|llm|modele de langage|intelligence artificielle|"
            r"bot|robot|algorithme|chatbot)\b",
        ),
        (
            "note|message|instruction|instructions|consigne|consignes|remarque",
            r"{H} (?:a|pour) (?:l'|une |toute )?(?:ia|i\.a\.|intelligence artificielle|llm|"
            r"modele)\b",
        ),
        ("chere|cher|bonjour|salut", r"{H} (?:l')?(?:ia|i\.a\.|llm)\s*[:,!]"),
    ],
    "es": [
        (
            "si eres|si es usted|si usted es",
            r"{H} (?:una? )?(?:ia|i\.a\.|llm|modelo de lenguaje|inteligencia artificial|bot|"
            r"chatbot|algoritmo)\b",
        ),
        (
            "nota|mensaje|instruccion|instrucciones|aviso",
            r"{H} (?:para|a) (?:la |el |cualquier )?(?:ia|i\.a\.|inteligencia artificial|llm|"
            r"modelo)\b",
        ),
        ("querida|querido|hola|estimada", r"{H} (?:ia|i\.a\.|llm)\s*[:,!]"),
    ],
    "pt": [
        (
            "se voce e|se tu es|se for|se es",
            r"{H} (?:uma? )?(?:ia|i\.a\.|llm|modelo de linguagem|inteligencia artificial|bot|"
            r"robo|algoritmo)\b",
        ),
        (
            "nota|mensagem|instrucao|instrucoes|aviso",
            r"{H} (?:para|a) (?:a |o |qualquer )?(?:ia|i\.a\.|inteligencia artificial|llm|"
            r"modelo)\b",
        ),
        ("cara|caro|ola|oi|prezada", r"{H} (?:ia|i\.a\.|llm)\s*[:,!]"),
    ],
    "it": [
        (
            "se sei|se tu sei|se lei e",
            r"{H} (?:un |una |un')?(?:ia|i\.a\.|llm|modello linguistico|"
            r"intelligenza artificiale|bot|algoritmo)\b",
        ),
        (
            "nota|messaggio|istruzioni|avviso",
            r"{H} (?:per|alla|all') ?(?:l')?(?:ia|i\.a\.|intelligenza artificiale|llm|modello)\b",
        ),
        ("cara|caro|ciao|gentile", r"{H} (?:ia|i\.a\.|llm)\s*[:,!]"),
    ],
    "nl": [
        (
            "als je|als jij|als u",
            r"{H} (?:een )?(?:ai|ki|llm|taalmodel|bot|chatbot|algoritme) (?:bent|is)\b",
        ),
        (
            "bericht|notitie|instructie|instructies|opmerking",
            r"{H} (?:aan|voor) (?:de |het |elke )?(?:ai|ki|llm|taalmodel|bot)\b",
        ),
        ("beste|hallo|hoi|let op|aan de", r"{H} (?:ai|ki|llm)\s*[:,!]"),
    ],
}

# Chat templates, role labels, fences and answers written out: text that pretends to be
# the conversation itself.
_TEMPLATE: _Rules = {
    "any": [
        (
            "system|assistant",
            rf"{_AT_LINE_START}{{H}}\s*[\]>)*]*\s*:\s*(?:you|ignore|disregard|forget|"
            r"new instructions|the candidate|this candidate|(?:rate|score|give|assign) "
            r"(?:this|the) candidate|from now on|override)",
        ),
        (
            "begin|start|end",
            r"{H}(?: of)? (?:the )?(?:system prompt|system message|new instructions|"
            r"hidden instructions|ai instructions|instructions for the ai)\b",
        ),
    ],
}
# Rules with no head word, each starting with a sign: one pattern per sign, so that each
# is looked for only where that sign is.
_SIGNS = [
    r"<(?:\|\s*(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|"
    r"end_header_id|begin_of_text|end_of_text|eom_id|im_sep)\s*\||\s*/?\s*(?:start_of_turn|"
    r"end_of_turn|bos|eos|candidate(?:_\d+)?|system|instructions?|sys|system_prompt|admin|"
    r"prompt)\s*|<\s*/?\s*sys\s*>|/?\s*s\s*>\s*(?:\[inst\]|<<sys>>|system|user|assistant))>",
    r"\[\s*(?:/?\s*inst|system|(?:system|admin|developer)\s*(?:message|note|instructions?|"
    r"override|prompt))\s*\]",
    r"##+\s*(?:system(?: prompt)?|new instructions?|instructions? for the ai|instruction)\b",
    r'"(?:technical_skills|communication|cultural_fit|leadership_potential|overall|scores?|'
    r'rating)"\s*:\s*[\[{]?\s*"?(?:10|9)\b',
]

_OUTPUT: _Rules = {
    "en": [
        (
            "you must|you should|you shall|you will|you need to|you have to|you are to",
            rf"{{H}}{_}(?:only{_})?(?:respond|reply|answer|output|return|print|assign|rate|"
            r"score|rank|classify|mark)\b(?! (?:to|for|within) (?:customer|client|user|"
            r"patient|stakeholder|guest|request|ticket|inquir|enquir|email|call|incident))",
        ),
        (
            "respond|reply|answer|output|return",
            rf"{{H}}{_}(?:only|just|exactly|solely){_}(?:with|the following|json|yes|\d)\b",
        ),
        (
            "your|the",
            r"{H} (?:answer|output|response|reply|verdict) (?:must|should|shall|will|has to) "
            r"(?:be|contain|say|include|start with|read)\b",
        ),
    ],
}

# The plainest phrases, read with every space and sign taken out (also backwards and in
# ROT13): "i.g.n.o.r.e-all_previous instructions".
_SQUASHED = re.compile(
    r"(?:ignore|disregard|forget|override)(?:all|any|the|your|of|my){0,3}"
    r"(?:previous|prior|above|earlier|preceding|original)"
    r"(?:instructions?|prompts?|rules|guidelines)"
    r"|(?:ignore|disregard|forget)(?:all|your)(?:the)?(?:instructions?|prompts?)"
    r"|givethis(?:candidate|applicant)(?:a|an|the)?(?:10|ten|perfect|maximum|highest|top)"
    r"|ifyouarean?(?:ai|llm|languagemodel|bot)"
    r"|youarenow(?:a|an|in)?(?:dan|developermode|unrestricted)"
    r"|ignoriere(?:alle)?(?:vorherigen|bisherigen|obigen)?anweisungen"
    r"|ignore[sz]?(?:toutes)?(?:les|tes|vos)instructions"
    r"|ignora(?:todas)?(?:las|tus|as|le|tutte)(?:le)?(?:instrucciones|instrucoes|istruzioni)"
    r"|negeer(?:alle)?(?:vorige|eerdere)?instructies"
)


class _Squashed:
    """The plainest phrases in the text with every space and sign taken out, forwards and
    backwards; looked for only when one of their first words is there."""

    STARTS = (
        "ignor",
        "disregard",
        "forget",
        "override",
        "givethis",
        "ifyouare",
        "youarenow",
        "negeer",
    )

    def find(self, text: str, skip: set[str]) -> Iterator[tuple[str, str, re.Match[str]]]:
        for direction in (text, text[::-1]):
            if any(start in direction for start in self.STARTS):
                match = _SQUASHED.search(direction)
                if match:
                    yield "override", "any", match
                    return


_SQUASHED_READER = _Squashed()
# Where the text may hold a phrase written with no spaces or with signs between its letters
# ("i.g.n.o.r.e"), or one of the phrases' first words, forwards or backwards.
_SIGNS_BETWEEN = re.compile(r"[-._*|/+~](?<=[a-z][-._*|/+~])[a-z][-._*|/+~][a-z][-._*|/+~][a-z]")
_SQUASHED_STARTS = tuple(
    {*_Squashed.STARTS, *(start[::-1] for start in _Squashed.STARTS), "overrid"}
)
# The plain English rules' words, backwards and in ROT13: the text is read those ways only
# when one of them is in it.
_PLAIN_WORDS = ("ignore", "instruction", "candidate", "prompt", "score", "rubric")
_BACKWARDS_WORDS = tuple(word[::-1] for word in _PLAIN_WORDS)
_ROT13_WORDS = tuple(codecs.encode(word, "rot13") for word in _PLAIN_WORDS)


def _holds(text: str, words: tuple[str, ...]) -> bool:
    return any(word in text for word in words)


@dataclass(frozen=True)
class _Rule:
    kind: str
    language: str
    pattern: re.Pattern[str]


class _Reader:
    """Every rule of a set, tried where one of its heads starts (one pass finds them)."""

    def __init__(self, rules: Iterable[tuple[str, str, str, str]], signs: Iterable[str] = ()):
        by_head: dict[str, list[_Rule]] = defaultdict(list)
        for kind, language, heads, pattern in rules:
            words = heads.split("|")
            lead = "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            compiled = re.compile(pattern.replace("{H}", rf"\b{lead})"), re.MULTILINE)
            for word in words:
                by_head[word].append(_Rule(kind, language, compiled))
        # A head found also starts every shorter head it begins with ("do not follow" is
        # also "do not").
        self.by_head = {
            head: [
                rule for other, rules in by_head.items() if head.startswith(other) for rule in rules
            ]
            for head in by_head
        }
        # At the start of a word and to its end: a word start is cheap to test, and most
        # places in a text are not one.
        self.heads = re.compile(rf"\b(?:{_trie(list(by_head))})(?![^\W_])")
        self.signs = [re.compile(sign) for sign in signs]

    def find(self, text: str, skip: set[str]) -> Iterator[tuple[str, str, re.Match[str]]]:
        """(kind, language, match) for each rule found, once per kind not in `skip`."""
        seen = set(skip)
        for sign in self.signs:
            match = sign.search(text) if "template" not in seen else None
            if match:
                seen.add("template")
                yield "template", "any", match
        for head in self.heads.finditer(text):
            for rule in self.by_head[head.group()]:
                if rule.kind in seen:
                    continue
                match = rule.pattern.match(text, head.start())
                if match:
                    seen.add(rule.kind)
                    yield rule.kind, rule.language, match


def _trie(words: list[str]) -> str:
    """One pattern matching any of the words, the longest where several begin alike, built
    as a trie so that each place in the text costs a few steps whatever their number."""
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return emit(tree)


def _rules(table: _Rules, kind: str) -> Iterator[tuple[str, str, str, str]]:
    for language, rules in table.items():
        for heads, pattern in rules:
            yield kind, language, heads, pattern


_ALL_RULES = [
    *_rules(_OVERRIDE, "override"),
    *_rules(_SCORE, "score"),
    *_rules(_ROLE, "role"),
    *_rules(_ADDRESS, "address"),
    *_rules(_TEMPLATE, "template"),
    *_rules(_OUTPUT, "output"),
]
_READER = _Reader(_ALL_RULES, _SIGNS)
# Read backwards and in ROT13: the English "ignore the instructions" and score phrasings.
_PLAIN_READER = _Reader(
    rule for rule in _ALL_RULES if rule[0] in ("override", "score") and rule[1] == "en"
)
# The words the rules know: a word written with a 1 or a | is read as the one it can be.
_VOCABULARY = frozenset(
    word
    for _kind, _language, heads, pattern in _ALL_RULES
    for word in re.findall(r"[a-z]{2,}", f"{heads} {pattern}")
)


@dataclass(frozen=True)
class Finding:
    """One place where the text gives the AI an order."""

    kind: str  # override, score, role, address, template, output
    language: str
    how: str  # how it was written: "plain", "signs for letters", "backwards", …
    excerpt: str  # the words found, as read (normalised)


def _variants(text: str, *, depth: int = 0) -> Iterator[tuple[str, str, _Reader | _Squashed]]:
    """(how it is read, the text so read, the rules to read it with)."""
    base = normalise(text)
    yield "plain", base, _READER
    unleet = _unleet(base) if _has_signs_for_letters(base) else base
    if unleet != base:
        yield "signs for letters", unleet, _READER
    unspaced = _unspace(unleet) if _SPACED_HINT.search(unleet) else unleet
    if unspaced != unleet:
        yield "spaced out", unspaced, _READER
    # Words run together, backwards or in ROT13 are read only when a word of theirs is
    # there (a quick look that most texts pass at once): run together, a long "word" (no
    # space in it) that holds a phrase's first word, or letters with signs between them.
    long_words = _LONG_WORDS.findall(unleet)
    if (
        unspaced != unleet
        or (long_words and _holds(" ".join(long_words), _SQUASHED_STARTS))
        or _SIGNS_BETWEEN.search(unleet)
    ):
        yield "run together", unleet.translate(_SIGNS_AND_BLANKS), _SQUASHED_READER
    if _holds(unleet, _BACKWARDS_WORDS):
        yield "backwards", unleet[::-1], _PLAIN_READER
    if _holds(unleet, _ROT13_WORDS):
        yield "rot13", codecs.encode(unleet, "rot13"), _PLAIN_READER
    if depth == 0 and any(len(word) >= _BASE64_MIN for word in long_words):
        for blob in _BASE64.findall(text):
            decoded = _decode(blob)
            if decoded:
                for how, variant, reader in _variants(decoded, depth=1):
                    yield f"base64, {how}", variant, reader


def _decode(blob: str) -> str:
    """A base64 blob's text, if it is text."""
    try:
        decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode()
    except (binascii.Error, ValueError):
        return ""
    printable = sum(ch.isprintable() or ch.isspace() for ch in decoded)
    return decoded if decoded and printable >= 0.9 * len(decoded) else ""


def find_instructions(text: str, *, first_only: bool = False) -> list[Finding]:
    """The places where the text gives the AI orders: one per kind of order and way of
    reading (with `first_only`, the first one found)."""
    found: list[Finding] = []
    if not text or not text.strip():
        return found
    for how, variant, reader in _variants(text):
        for kind, language, match in reader.find(variant, set()):
            found.append(Finding(kind, language, how, _excerpt(match)))
            if first_only:
                return found
    return found


def instructs_the_ai(text: str) -> bool:
    """Whether the text tries to instruct the AI (any Finding)."""
    return bool(find_instructions(text, first_only=True))


def _excerpt(match: re.Match[str], around: int = 40) -> str:
    text = match.string
    start, end = match.span()
    words = " ".join(text[max(0, start - around) : end + around].split())
    lead = "…" if start > around else ""
    tail = "…" if end + around < len(text) else ""
    return f"{lead}{words}{tail}"
