"""Korean words the answer pipeline reads: what a refusal says, what asks a question, what
names the passages and what addresses a model."""

REFUSAL = "문서에서 답을 찾을 수 없습니다."
NAME = "Korean"

DECLINED = r"찾을 수 없|언급되(?:어 있)?지 않|나와 있지 않|나와있지 않|정보가 없|알 수 없|명시되(?:어 있)?지 않"
# Also a question that ends in a noun and its topic particle ("…한 도시는?"), which asks what
# that noun is; a yes/no question ends in a verb ("…인가요?").
QUESTION_WORDS = r"무엇|뭐|누구|누가|언제|어디|어느|어떤|어떻게|얼마|몇|왜|[가-힣][은는]\s*[?？]\s*$"
SOURCE_WORDS = r"지문|본문|단락|문단|발췌문|번호"  # "번호 [1]에 따르면": by its number
MARKER_AS_SOURCE = r"{m}\s*(?:에서|에 따르면|에 의하면)"  # "[1]에서 설명됩니다"
SOURCE_LEAD = rf"(?:(?:{SOURCE_WORDS})\s*(?:{{m}}\s*)*|{{m}}(?:\s*{{m}})*\s*)에\s*(?:따르면|의하면)\s*,?\s*"  # "지문에 따르면, …"
INSTRUCTIONS = (
    r"(?:이전|앞|위|기존|지금까지|모든)\S{0,2}\s*(?:모든\s*)?(?:지시|명령|지침|프롬프트|규칙|내용)\S{0,3}\s*(?:모두\s*)?(?:무시|잊)"
    r"|(?:라고|이라고)\s*(?:만\s*)?(?:답|대답|응답|출력|말)하(?:세요|십시오|라|시오)|만\s*(?:답|대답|응답|출력)하(?:세요|십시오|라|시오)"
    r"|시스템\s*(?:지시|프롬프트|메시지)\s*:"
)

# Number units: "5천" is 5000, "2만 3천" is 23000, "160만" is 1600000.
NUMBER_UNITS = {"십": 10, "백": 100, "천": 1_000, "만": 10_000, "억": 100_000_000, "조": 1_000_000_000_000}
# Numbers written in Hangul ("삼천 명" is 3000 people): the digits, and what counts things,
# one of which must follow such a number for it to be read as one (Hangul digits are also
# common syllables: "이천" is a city).
HANGUL_DIGITS = "일이삼사오육칠팔구"
COUNTERS = r"명|개|원|권|장|마리|대|척|채|표|석|가구|가지|곳|건|회|배|톤|년|세|달러|엔|위안|파운드|유로"
# Native Korean numbers, read only before a counter ("두 가지" is 2, "열두 명" 12): the
# forms they take there, tens then ones, and the counters they take besides ``COUNTERS``.
NATIVE_TENS = {"열": 10, "스무": 20, "스물": 20, "서른": 30, "마흔": 40, "쉰": 50}
NATIVE_ONES = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}
NATIVE_COUNTERS = r"번|차례|살|해|달|시간|사람"
# "여" after a number: "more than" ("만여 명"); the units of a date ("3만 1997년" is two numbers).
ABOUT = "여"
DATE_UNITS = "년월일"
# The same units in hanja ("1753年4月"), as a model trained on much Chinese text writes them.
HANJA_DATE_UNITS = "年月日"
# What makes the number after it an ordinal, not an amount: "제3조" is the third article.
ORDINAL = "제"
