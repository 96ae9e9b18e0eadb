"""Synthetic corpora, generated from small grammars so that each task needs one readable attention pattern.

English (`tiny-gpt`):
- subject-verb agreement across an attractor: "the dog that the cats chase runs ." — the main verb agrees with
  the head noun ("dog"), not with the nearer noun ("cats"); an attention head has to find the subject.
- pronoun reference: "the girl dropped the cup . it broke ." — what follows "it" depends on the one object
  named before, so the position of "it" must look back at that noun.
- plain sentences in between, so previous-token structure ("the" -> noun) is everywhere.

English -> French-like (`tiny-translator`): word-by-word with gendered articles and the adjective moved after
the noun ("the red cat" -> "le chat rouge"), so cross-attention alignments cross.

Everything is drawn from a `random.Random(seed)`, so the corpora are the same on every machine.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .tokenizer import SPECIALS

# ---------------------------------------------------------------- English grammar (tiny-gpt)
NOUNS = {"dog": "dogs", "cat": "cats", "boy": "boys", "girl": "girls", "bird": "birds", "teacher": "teachers",
         "farmer": "farmers"}
INTRANSITIVE = {"runs": "run", "sleeps": "sleep", "sings": "sing", "waits": "wait", "laughs": "laugh"}
TRANSITIVE = {"sees": "see", "chases": "chase", "likes": "like", "helps": "help", "follows": "follow"}
PREPOSITIONS = ("near", "behind", "with")
# objects that "it" can refer to, each with the only things it can do afterwards
OBJECTS = {"ball": ("rolled", "bounced"), "cup": ("broke", "spilled"), "apple": ("ripened", "rotted"),
           "kite": ("flew", "soared"), "letter": ("arrived", "tore"), "boat": ("sank", "floated")}
HANDLING = ("found", "dropped", "bought", "took", "saw")
ADVERBS = ("today", "again", "later")

SINGULAR_VERBS = tuple(INTRANSITIVE) + tuple(TRANSITIVE)
PLURAL_VERBS = tuple(INTRANSITIVE.values()) + tuple(TRANSITIVE.values())


def english_vocab() -> list[str]:
    words = [*SPECIALS, "the", "that", "it", ".", "and"]
    for s, p in NOUNS.items():
        words += [s, p]
    for s, p in {**INTRANSITIVE, **TRANSITIVE}.items():
        words += [s, p]
    words += list(PREPOSITIONS) + list(HANDLING) + list(ADVERBS)
    for obj, preds in OBJECTS.items():
        words += [obj, *preds]
    return words


@dataclass(frozen=True)
class Probe:
    """A test item: the words before a prediction, and which next words are right / wrong."""
    prefix: list[str]
    right: tuple[str, ...]
    wrong: tuple[str, ...]
    kind: str  # "agreement" (a noun of the other number sits between subject and verb) or "pronoun"
    sentence: str  # the whole test sentence, to check it is not a training sentence


def _noun(rng: random.Random, plural: bool) -> str:
    s = rng.choice(list(NOUNS))
    return NOUNS[s] if plural else s


def _verb(table: dict, verb: str, plural: bool) -> str:
    return table[verb] if plural else verb


def agreement_sentence(rng: random.Random) -> tuple[list[str], int, bool, bool]:
    """Returns (words, index of the main verb, subject plural?, attractor plural? or None-like False)."""
    plural = rng.random() < 0.5
    subj = _noun(rng, plural)
    other_plural = rng.random() < 0.5
    kind = rng.choice(("simple", "subj_rel", "obj_rel", "prep"))
    words = ["the", subj]
    if kind == "subj_rel":  # the dog that chases the cats runs
        words += ["that", _verb(TRANSITIVE, rng.choice(list(TRANSITIVE)), plural), "the", _noun(rng, other_plural)]
    elif kind == "obj_rel":  # the dog that the cats chase runs
        words += ["that", "the", _noun(rng, other_plural), _verb(TRANSITIVE, rng.choice(list(TRANSITIVE)), other_plural)]
    elif kind == "prep":  # the dog near the cats runs
        words += [rng.choice(PREPOSITIONS), "the", _noun(rng, other_plural)]
    else:
        other_plural = plural
    verb_at = len(words)
    if rng.random() < 0.5:
        words += [_verb(INTRANSITIVE, rng.choice(list(INTRANSITIVE)), plural)]
    else:
        words += [_verb(TRANSITIVE, rng.choice(list(TRANSITIVE)), plural), "the", _noun(rng, rng.random() < 0.5)]
    if rng.random() < 0.3:
        words.append(rng.choice(ADVERBS))
    return words + ["."], verb_at, plural, other_plural


def pronoun_sentence(rng: random.Random) -> tuple[list[str], int, str]:
    """'the girl dropped the cup . it broke .' Returns (words, index of the word after "it", the object)."""
    obj = rng.choice(list(OBJECTS))
    who = ["the", _noun(rng, rng.random() < 0.5)]
    if rng.random() < 0.3:
        who += [rng.choice(PREPOSITIONS), "the", _noun(rng, rng.random() < 0.5)]
    if rng.random() < 0.5:
        words = who + [rng.choice(HANDLING), "the", obj]
    else:
        words = ["the", obj, rng.choice(("near", "behind")), *who[:2]]
    if rng.random() < 0.3:
        words.append(rng.choice(ADVERBS))
    words += [".", "it"]
    pred_at = len(words)
    return words + [rng.choice(OBJECTS[obj]), "."], pred_at, obj


def english_sentence(rng: random.Random) -> list[str]:
    if rng.random() < 0.4:
        return pronoun_sentence(rng)[0]
    return agreement_sentence(rng)[0]


def english_document(rng: random.Random, max_words: int) -> list[str]:
    """Sentences one after another, up to `max_words` words (the <bos> the model sees first is added later)."""
    words = english_sentence(rng)
    while True:
        nxt = english_sentence(rng)
        if len(words) + len(nxt) > max_words:
            return words
        words += nxt


def english_probes(seed: int, n: int, exclude: set[str] = frozenset()) -> list[Probe]:
    """Held-out test items, none of whose sentences occur in `exclude` (the training sentences)."""
    rng, out, seen = random.Random(seed), [], set()
    while len(out) < n:
        if len(out) % 2 == 0:
            words, at, plural, other = agreement_sentence(rng)
            if other == plural:  # only the hard cases: a noun of the other number sits in between
                continue
            right, wrong = (PLURAL_VERBS, SINGULAR_VERBS) if plural else (SINGULAR_VERBS, PLURAL_VERBS)
            probe = Probe(words[:at], right, wrong, "agreement", " ".join(words))
        else:
            words, at, obj = pronoun_sentence(rng)
            others = tuple(p for o, ps in OBJECTS.items() if o != obj for p in ps)
            probe = Probe(words[:at], OBJECTS[obj], others, "pronoun", " ".join(words))
        if probe.sentence in exclude or probe.sentence in seen:
            continue
        seen.add(probe.sentence)
        out.append(probe)
    return out


# ---------------------------------------------------------------- English -> French-like (tiny-translator)
# english noun -> (french singular, french plural, gender)
FR_NOUNS = {"cat": ("chat", "chats", "m"), "dog": ("chien", "chiens", "m"), "bird": ("oiseau", "oiseaux", "m"),
            "book": ("livre", "livres", "m"), "house": ("maison", "maisons", "f"), "car": ("voiture", "voitures", "f"),
            "flower": ("fleur", "fleurs", "f"), "girl": ("fille", "filles", "f")}
EN_PLURAL = {"cat": "cats", "dog": "dogs", "bird": "birds", "book": "books", "house": "houses", "car": "cars",
             "flower": "flowers", "girl": "girls"}
FR_ADJ = {"red": "rouge", "big": "grand", "small": "petit", "green": "vert", "old": "vieux", "black": "noir"}
# english verb (singular, plural) -> french (singular, plural)
FR_VERBS = {("sees", "see"): ("voit", "voient"), ("likes", "like"): ("aime", "aiment"),
            ("follows", "follow"): ("suit", "suivent"), ("finds", "find"): ("trouve", "trouvent")}
FR_ARTICLE = {"m": "le", "f": "la", "pl": "les"}


def translation_vocab() -> list[str]:
    words = [*SPECIALS, "the", ".", "and", "le", "la", "les", "et"]
    for en, (fs, fp, _) in FR_NOUNS.items():
        words += [en, EN_PLURAL[en], fs, fp]
    for en, fr in FR_ADJ.items():
        words += [en, fr]
    for (es, ep), (fs, fp) in FR_VERBS.items():
        words += [es, ep, fs, fp]
    return words


def _noun_phrase(rng: random.Random) -> tuple[list[str], list[str], bool]:
    noun, plural = rng.choice(list(FR_NOUNS)), rng.random() < 0.4
    adjs = rng.sample(list(FR_ADJ), k=rng.choice((0, 1, 1, 2)))
    fs, fp, gender = FR_NOUNS[noun]
    en = ["the", *adjs, EN_PLURAL[noun] if plural else noun]
    fr = [FR_ARTICLE["pl" if plural else gender], fp if plural else fs, *(FR_ADJ[a] for a in adjs)]
    return en, fr, plural


def translation_pair(rng: random.Random) -> tuple[list[str], list[str]]:
    """('the big red dog sees the cats .', 'le chien grand rouge voit les chats .') as word lists."""
    subj_en, subj_fr, plural = _noun_phrase(rng)
    obj_en, obj_fr, _ = _noun_phrase(rng)
    (es, ep), (fs, fp) = rng.choice(list(FR_VERBS.items()))
    en = subj_en + [ep if plural else es] + obj_en
    fr = subj_fr + [fp if plural else fs] + obj_fr
    if rng.random() < 0.25:  # "... and the small car ."
        more_en, more_fr, _ = _noun_phrase(rng)
        en, fr = en + ["and"] + more_en, fr + ["et"] + more_fr
    return en + ["."], fr + ["."]


def translation_pairs(seed: int, n: int, exclude: set[str] = frozenset()) -> list[tuple[list[str], list[str]]]:
    rng, out, seen = random.Random(seed), [], set()
    while len(out) < n:
        en, fr = translation_pair(rng)
        key = " ".join(en)
        if key in exclude or key in seen:
            continue
        seen.add(key)
        out.append((en, fr))
    return out
