"""English words the pipeline reads: function words search ignores, what a refusal says,
what asks a question, what names the passages, what addresses a model, and how numbers
are spelled out."""

REFUSAL = "I could not find the answer in the documents."
NAME = "English"

# Function words and the verbs that frame a request ("tell me", "according to"): no topic.
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    do does did what which who whom whose when where why how that this these those it its
    there their they them he she his her we our you your i me my not no than then so such
    can could would should will shall may might must have has had about into over after before
    between during tell explain describe according""".split()
)

DECLINED = (
    r"could not find|cannot find|can't find|couldn't find|no information|not (?:mentioned|stated|provided|specified|given)"
    r"|(?:do|does) not (?:say|mention|state|contain|provide|specify)"
)
QUESTION_WORDS = r"\b(?:what|which|who|whom|whose|when|where|why|how)\b"
# What a reply calls the passages it was given ("as stated in passage [1]").
SOURCE_WORDS = r"\b(?:passages?|excerpts?)(?![a-z])"  # also before a Korean particle
# A citation marker read as the source itself ("mentioned in [1]"); {m} is the marker.
MARKER_AS_SOURCE = r"\b(?:in|from|according to|see)\s+{m}"
# A sentence that opens by naming its source ("According to the passage, …", "The passage
# states that …"); {m} is the marker.
_SOURCE_NAME = rf"(?:{SOURCE_WORDS}|text\b)(?:\s*{{m}})*"
SOURCE_LEAD = (
    r"(?:according to|based on|as (?:stated|mentioned|described|noted|shown) (?:in|by))\s+(?:the\s+)?"
    rf"(?:{_SOURCE_NAME}|{{m}}(?:\s*{{m}})*)\s*,\s*"
    rf"|(?:the\s+)?{_SOURCE_NAME}\s+(?:states?|says?|mentions?|notes?|indicates?|explains?|shows?)\s+that\s+"
)
INSTRUCTIONS = (
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|directions?|rules|prompts?|guidelines)\b"
    r"|\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:of\s+)?(?:the\s+)?(?:above|previous|prior|preceding|earlier)\b"
    r"|\b(?:system|developer)\s*(?:prompt|message|instruction)s?\s*:|^\s*(?:system|assistant)\s*:"
    r"|\byou are now\b|\bnew instructions?\b|\byou must (?:now )?(?:reply|respond|answer|say|output) (?:with|only)\b"
    r"|\b(?:reply|respond|answer|say|output)(?: with)? only\b|\b(?:reply|respond|answer) (?:with|using) (?:the )?(?:single )?word\b"
)

NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
     "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"}
# "1.6 million" is 1600000.
NUMBER_UNITS = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 1_000_000_000_000}
# Units of measure as sources abbreviate them ("260 km (160 mi)"), spelled out as an answer
# with a number writes them.
UNIT_WORDS = {"km": "kilometer", "mi": "mile", "m": "meter", "cm": "centimeter", "mm": "millimeter", "kg": "kilogram",
              "lb": "pound", "lbs": "pound", "ft": "feet", "sq": "square", "ha": "hectare"}
MONTHS = {
    name: str(i)
    for i, names in enumerate(("", "January Jan", "February Feb", "March Mar", "April Apr", "May", "June Jun", "July Jul",
                               "August Aug", "September Sep Sept", "October Oct", "November Nov", "December Dec"))
    for name in names.split()
}
