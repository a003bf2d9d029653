"""Small per-language word lists: function words, follow-up pronouns, greetings, thanks.

All entries are in folded form (lower case, no accents), as `text.fold` produces them.
They serve three jobs: telling a follow-up ("how do I get there?") from a new question,
recognising small talk, and guessing which Latin-script language a message is in.
"""

from __future__ import annotations

from bot.knowledge.text import terms


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_ZH_FUNCTION_WORDS = (
    "什么 怎么 哪里 哪儿 在哪 哪个 可以 请问 一下 我们 你们 他们 这个 那个 "
    "是什 么是 有什 吗 呢 的 是 了 在 有 我 你 他 她 它 吧 啊"
)

STOPWORDS: dict[str, frozenset[str]] = {
    "en": _set(
        "a an the is are was were be been am do does did i me my we our you your he she it its "
        "they them their this that these those what which who whom whose when where why how "
        "can could should would will shall may might must to of in on at for from by with about "
        "as into than then and or but if so not no yes please tell know want need any some all "
        "more much many also just there here s t m ll d re ve"
    ),
    "fr": _set(
        "le la les l un une des du de d au aux et ou mais est sont c ce cet cette ces qu que qui "
        "quoi quel quelle quels quelles ou comment pourquoi quand je j me m moi tu te vous nous "
        "il elle ils elles on y en a pour par sur dans avec sans se s ne n pas plus tres est-ce "
        "svp merci peux puis-je faut"
    ),
    "es": _set(
        "el la los las un una unos unas de del al y o pero es son que quien quienes cual cuales "
        "donde como cuando cuanto cuantos por para en con sin se me mi yo tu te usted nos lo le "
        "les hay esta estan este esto esa eso muy mas favor puedo puede"
    ),
    "pt": _set(
        "o a os as um uma uns umas de do da dos das no na nos nas ao aos e ou mas e sao que quem "
        "qual quais onde como quando quanto por para em com sem se me eu voce voces nos lhe ha "
        "esta estao este isto essa isso muito mais favor posso pode pra faco fazer tudo bem oi"
    ),
    "sw": _set(
        "ni na ya wa za la kwa katika kama je nini wapi lini gani nani vipi hii huu hiyo hilo "
        "huyo yako yangu wangu kuna iko yuko ziko mimi wewe sisi nyinyi tafadhali au lakini pia "
        "sana kuhusu ili hapa pale"
    ),
    "ru": _set(
        "и в во на с со к ко о об от до по за из у а но или что кто как где когда какой какая "
        "какие каков это этот эта эти то тот там тут я мне меня мы вы ты он она они его ее их "
        "ли же бы не нет да можно нужно есть пожалуйста такое такой"
    ),
    "ar": _set(
        "في من الى إلى على عن مع هل ما ماذا من متى اين أين كيف لماذا كم هو هي هم هذا هذه ذلك تلك "
        "انا أنا نحن انت أنت و او أو ثم لا نعم يمكن يمكنني ممكن الذي التي هناك هنا"
    ),
    "zh": frozenset(_ZH_FUNCTION_WORDS.split()),
}
STOPWORDS["ar"] = frozenset(terms(" ".join(STOPWORDS["ar"])))
ALL_STOPWORDS: frozenset[str] = frozenset().union(*STOPWORDS.values())

# Words that point back at the topic already being discussed.
FOLLOWUP_WORDS: frozenset[str] = frozenset(
    terms(
        "there it its that this place site one them and also what about how about "
        "那里 那儿 那边 这里 它 这个地方 还有 呢 "
        "la-bas y et aussi ce lieu endroit "
        "alli ahi alla y tambien ese lugar sitio "
        "هناك المكان ذلك و ايضا "
        "там туда это место и а еще "
        "la ali e tambem esse lugar "
        "huko hapo pale mahali hapo na pia"
    )
)

# Words that mark where someone starts from: "and from Yiwu?" still follows up on the site
# being discussed, though Yiwu names a topic of its own.
ORIGIN_WORDS: frozenset[str] = frozenset(terms("from depuis de desde dende из от 从 由 من kutoka"))
# Words before a person's home town ("a reporter from Lagos"); not "de": "le site de Hemudu".
HOMETOWN_WORDS: frozenset[str] = frozenset(terms("from из kutoka"))

# Greetings and thanks by language: small talk, and strong clues to the language.
_GREETINGS_BY_LANGUAGE = {
    "en": "hello hi hey good morning afternoon evening",
    "zh": "你好 您好 大家好",
    "fr": "bonjour salut bonsoir",
    "es": "hola buenos dias buenas tardes",
    "ar": "مرحبا السلام عليكم اهلا",
    "ru": "привет здравствуйте добрый день",
    "pt": "ola oi bom dia boa tarde",
    "sw": "habari jambo hujambo mambo salaam",
}
_THANKS_BY_LANGUAGE = {
    "en": "thanks thank you thx",
    "zh": "谢谢 多谢 感谢",
    "fr": "merci beaucoup",
    "es": "gracias muchas",
    "ar": "شكرا جزيلا",
    "ru": "спасибо большое",
    "pt": "obrigado obrigada",
    "sw": "asante sana",
}
SMALL_TALK_BY_LANGUAGE: dict[str, frozenset[str]] = {
    lang: frozenset(terms(_GREETINGS_BY_LANGUAGE[lang] + " " + _THANKS_BY_LANGUAGE[lang]))
    for lang in _GREETINGS_BY_LANGUAGE
}
# "ok", "好的", "sawa": an acknowledgement, not a follow-up question about the last topic.
ACKNOWLEDGEMENTS: frozenset[str] = frozenset(
    terms(
        "ok okay fine good great cool alright noted understood 好的 好 嗯 明白 知道了 行 "
        "d'accord bien parfait entendu compris vale bueno perfecto entendido listo "
        "حسنا تمام طيب فهمت хорошо понятно ладно отлично ясно sim certo beleza "
        "entendi perfeito sawa poa nimeelewa vizuri"
    )
)
# "no", "non", "нет", "hapana" alone answer nothing that was asked outside a form.
NEGATIONS: frozenset[str] = frozenset(
    terms("no nope non não nao нет неа لا كلا hapana 不 不是 没有 不用 不要")
)
GREETINGS: frozenset[str] = frozenset(terms(" ".join(_GREETINGS_BY_LANGUAGE.values())))
THANKS: frozenset[str] = frozenset(terms(" ".join(_THANKS_BY_LANGUAGE.values())))

# Words that ask for a day plan ("plan a day at …", "I have one day, what can I film?").
# Not "programme", برنامج or mpango: they also name programmes ("the ambassador programme").
_PLAN_WORDS = (
    "plan itinerary schedule 行程 规划 日程 itineraire planifier itinerario planear "
    "planificar маршрут спланировать خطة roteiro planejar ratiba"
)
_PLAN_MULTIWORD = (
    "one day", "a day", "day trip", "一天", "une journée", "un día", "один день",
    "يوم واحد", "um dia", "siku moja",
)  # fmt: skip
PLAN_PHRASES: tuple[frozenset[str], ...] = tuple(
    frozenset(terms(phrase)) for phrase in (*_PLAN_WORDS.split(), *_PLAN_MULTIWORD)
)
