"""Follow-up questions of a chat session made standalone for retrieval, without a model.

"How often?" after "How do I change the oil of pump P-101?" searches for nothing useful on its
own. When a follow-up is short, leans on a pronoun ("it", "that", "그것", "해당") or names
almost nothing, the previous question's key terms are put in front of it; a question that
names its own subject is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/]*|\d[\w.\-/]*|[\uac00-\ud7a3]+", re.UNICODE)
_EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "about",
        "into",
        "over",
        "under",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "much",
        "many",
        "often",
        "long",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "please",
        "tell",
        "show",
        "explain",
        "give",
        "also",
        "too",
        "again",
        "more",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "they",
        "them",
        "their",
        "there",
        "here",
        "he",
        "she",
        "his",
        "her",
        "one",
        "ones",
        "same",
        "other",
        "else",
        "about",
        "any",
        "some",
        "all",
        "there's",
        "what's",
        "it's",
        "how's",
        "thing",
        "things",
        "do",
        "i",
        "need",
    ]
)
_EN_REFERRING = frozenset(
    [
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "they",
        "them",
        "their",
        "there",
        "he",
        "she",
        "his",
        "her",
        "one",
        "ones",
        "same",
    ]
)
# Words that point back at the earlier subject, and openings of a continued conversation.
_KO_REFERRING = re.compile(
    r"^(그것|이것|저것|그거|이거|저거|그|이|저|거기|여기|해당|그곳|이곳|그럼|그러면|그리고|또|"
    r"그건|이건|그게|이게|그런|이런|같은)"
)
# Particles and endings stripped from Korean words (longest first).
_KO_SUFFIX = re.compile(
    r"(에서는|에서도|으로는|으로도|에게서|까지는|부터는|이라도|이라면|이라는|라는|에서|에게|"
    r"으로|부터|까지|처럼|보다|마다|이나|에는|에도|와는|과는|하고|이랑|은|는|이|가|을|를|에|"
    r"의|와|과|도|만|로|나|랑|요)$"
)
_KO_FUNCTION = re.compile(
    r"(나요|니까|습니까|ㅂ니까|까요|가요|인가|는지|은지|을지|할까|하나|해야|하면|되나|"
    r"됩니까|합니까|인가요|있나|없나|알려|주세요|해줘|줘|뭐|무엇|어떻게|언제|얼마|"
    r"어디|왜|누가|몇)"
)
SHORT_FOLLOW_UP = 3  # content terms; fewer means the question leans on the conversation


def content_terms(text: str) -> list[str]:
    """Words that name things (lower-cased; Korean particles stripped), in order, no repeats."""
    found: dict[str, None] = {}
    for token in _TOKEN.findall(text):
        if token[0].isascii():
            word = token.lower().strip(".-/")
            if len(word) < 2 or word in _EN_STOP:
                continue
        else:
            if _KO_REFERRING.fullmatch(token) or _KO_FUNCTION.search(token):
                continue
            word = _KO_SUFFIX.sub("", token) if len(token) > 1 else token
            if len(word) < 2 and not re.match(r"[\uac00-\ud7a3]", word):
                continue
            if not word or _KO_REFERRING.fullmatch(word):
                continue
        found.setdefault(word, None)
    return list(found)


def refers_back(text: str) -> bool:
    """True when the question points at something said before."""
    for token in _TOKEN.findall(text):
        if token.lower() in _EN_REFERRING or _KO_REFERRING.match(token):
            return True
    return False


def is_follow_up(question: str) -> bool:
    """True when the question needs the conversation: few content words, or a pronoun."""
    return len(content_terms(question)) < SHORT_FOLLOW_UP or refers_back(question)


def standalone(question: str, previous_questions: Sequence[str]) -> str:
    """The question, with the previous question's key terms in front when it is a follow-up."""
    if not previous_questions or not is_follow_up(question):
        return question
    own = content_terms(question)
    mine = set(own)
    carried: list[str] = []
    for earlier in reversed(previous_questions):  # the latest question first
        carried = [t for t in content_terms(earlier) if t not in mine]
        if carried:
            break
    if not carried:
        return question
    return f"{' '.join(carried[:8])} {question}"
