"""Pure logic of answers: citation markers, follow-up resolution, refusal detection,
excerpts, prompts, the support test, the verdict and evaluation scoring. Passages here are
hand-made, not retrieved, and the examples are invented: none is a question of an answer set."""

import threading
from dataclasses import replace

from assistant.answer import checks, citations, followup, prompt, source_talk, support
from assistant.answer.pipeline import Pipeline
from assistant.config import Settings
from assistant.evaluation import facts_present
from assistant.text import numbers
from assistant.text.language import other_script, written_in
from assistant.types import Passage

from .conftest import FakeGenerator, passage


def test_markers_are_parsed_cleaned_and_invalid_ones_dropped():
    assert citations.parse_markers("A [2]. B [1, 3]. C 【2】") == [2, 1, 3]
    assert citations.clean_markers("A [2]. B [1, 7]. C [9]", {1, 2}) == "A [2]. B [1]. C"


def test_answer_without_marker_gets_the_best_supporting_passage():
    ps = [passage("고양이는 야옹 하고 웁니다.", 1), passage("Quokka는 2019년에 Mozilla가 발표했습니다.", 2)]
    text, cites = citations.attach("Quokka는 Mozilla가 발표했습니다.", ps)
    assert text.endswith("[2]") and [c.n for c in cites] == [2]
    text, cites = citations.attach("Quokka는 Mozilla가 발표했습니다 [1][5].", ps)
    assert [c.n for c in cites] == [1] and "[5]" not in text
    assert citations.append_marker("It was Eagle. [1]", 2) == "It was Eagle. [1][2]"


class FakeSearch:
    """A fake retriever: the best cosine of a query is given per query text."""

    def __init__(self, closeness: dict[str, float]):
        self.closeness = closeness
        self.asked: list[str] = []

    def __call__(self, query: str) -> list[Passage]:
        self.asked.append(query)
        return [passage(query, dense=self.closeness.get(query, 0.3))]


def test_a_question_is_joined_with_the_previous_one_only_when_that_finds_closer_evidence():
    history = [{"role": "user", "content": "Quokka는 무엇인가요?"}, {"role": "assistant", "content": "라이브러리입니다. [1]"}]
    search = FakeSearch({"그건 누가 만들었나요?": 0.31, "Quokka는 무엇인가요? 그건 누가 만들었나요?": 0.62})
    q = followup.resolve("그건 누가 만들었나요?", history, search, margin=0.05)
    assert q.text == "Quokka는 무엇인가요? 그건 누가 만들었나요?" and q.previous == "Quokka는 무엇인가요?"
    assert q.earlier_answer == "라이브러리입니다. [1]"
    refused = history[:1] + [{"role": "assistant", "content": "문서에서 답을 찾을 수 없습니다."}]
    assert followup.resolve("그건 누가 만들었나요?", refused, search, 0.05, ("문서에서 답을 찾을 수 없습니다.",)).earlier_answer is None
    # A new subject is found better alone: searched as asked, as in a new chat.
    search = FakeSearch({"Where is the Eiffel Tower?": 0.7, "Quokka는 무엇인가요? Where is the Eiffel Tower?": 0.55})
    q = followup.resolve("Where is the Eiffel Tower?", history, search, margin=0.05)
    assert q.text == "Where is the Eiffel Tower?" and q.previous is None
    # Within the margin, the question stands alone; without history nothing else is searched.
    search = FakeSearch({"Who made it?": 0.5, "Quokka는 무엇인가요? Who made it?": 0.53})
    assert followup.resolve("Who made it?", history, search, margin=0.05).previous is None
    search = FakeSearch({})
    assert followup.resolve("Who made it?", None, search, margin=0.05).text == "Who made it?" and search.asked == ["Who made it?"]


def test_a_follow_up_also_carries_the_best_passage_for_its_own_words():
    history = [{"role": "user", "content": "Quokka는 무엇인가요?"}, {"role": "assistant", "content": "라이브러리입니다. [1]"}]
    subject = passage("Quokka는 Mozilla의 라이브러리입니다.", 2, dense=0.7)
    own = passage("다음 판은 2021년에 나왔습니다.", 7, dense=0.4)

    def fake_search(query: str) -> list[Passage]:
        return [subject] if "Quokka" in query else [own]

    q = followup.resolve("다음 판은 언제 나왔나요?", history, fake_search, margin=0.05)
    assert q.previous == "Quokka는 무엇인가요?" and q.own == own
    assert [p.chunk.paragraph for p in q.passages] == [2, 7]
    # Its own words found another document: not quoted, the model answered from it.
    elsewhere = passage("다음 판은 2021년에 나왔습니다.", 7, dense=0.4, doc="other")
    q = followup.resolve("다음 판은 언제 나왔나요?", history, lambda query: [subject] if "Quokka" in query else [elsewhere], margin=0.05)
    assert q.previous == "Quokka는 무엇인가요?" and q.own is None and [p.chunk.paragraph for p in q.passages] == [2]


def test_a_follow_ups_passages_are_excerpted_around_the_sentence_its_own_words_match():
    history = [{"role": "user", "content": "Quokka는 누가 만들었나요?"}, {"role": "assistant", "content": "Mozilla입니다. [1]"}]
    text = "Quokka는 Mozilla가 만든 라이브러리입니다. 여러 해 동안 여러 언어로 옮겨졌습니다. 다음 판은 2021년에 나왔습니다."
    subject = (100, 100 + text.index("여러") - 1)
    later = (100 + text.index("다음"), 100 + len(text))

    def fake_search(query: str) -> list[Passage]:
        """The same paragraph, marked at the subject's sentence for the joined query."""
        return [passage(text, 3, highlight=subject if "Quokka" in query else later, dense=0.7 if "Quokka" in query else 0.5)]

    q = followup.resolve("그 다음 판은 언제 나왔나요?", history, fake_search, margin=0.05)
    assert q.previous is not None and [p.highlight for p in q.passages] == [later]
    assert q.passages[0].dense_score == 0.7  # the joined search's scores are kept
    assert "2021년" in prompt.excerpt(q.passages[0], 30) and "2021년" not in prompt.excerpt(fake_search("Quokka")[0], 30)


def test_the_evidence_gate_reads_the_closest_quoted_passage_not_the_first():
    # Ranked first by shared words, far in meaning; the second holds the close sentence.
    first = passage("Quokka는 라이브러리입니다. Quokka 판은 여럿입니다.", 1, dense=0.2)
    second = replace(passage("Quokka 2.0은 2021년에 나왔습니다.", 2, dense=0.6), score=0.9)
    settings = Settings(confirm_threshold=0.0)
    gen = FakeGenerator("Quokka 2.0은 2021년에 나왔습니다. [2]")
    *_, (text, answer) = Pipeline(settings, lambda q, k: [first, second]).stream("Quokka 2.0은 언제 나왔나요?", None, gen)
    assert len(gen.prompts) == 1 and not answer.abstained and "2021년" in text
    *_, (_, answer) = Pipeline(settings, lambda q, k: [first, replace(second, dense_score=0.3)]).stream("Quokka 2.0은 언제 나왔나요?", None, gen)
    assert len(gen.prompts) == 1 and answer.refusal == checks.EVIDENCE


def test_a_stopped_answer_ends_where_it_is_without_a_verdict():
    stop = threading.Event()

    class FakeStoppedGenerator(FakeGenerator):
        """Stop is pressed after the first piece; counts the judge's calls."""

        judged = 0

        def _stream(self, prompt):
            self.prompts.append(prompt)
            yield "The quokka "
            stop.set()
            yield "weighs 3 kg. [1]"

        def judge(self, messages):
            self.judged += 1
            return 1.0

    gen = FakeStoppedGenerator()
    quoted = [passage("The quokka weighs 3 kg.")]
    out = list(Pipeline(Settings(), lambda q, k: quoted).stream("How much does the quokka weigh?", None, gen, stop))
    assert [a for _, a in out] == [None] * len(out) and out[-1][0] == "The quokka"
    assert len(gen.prompts) == 1 and gen.judged == 0


def test_refusals_are_recognized_in_both_languages():
    for text in ("NOT_FOUND", "The passages do not mention it.", "문서에서 답을 찾을 수 없습니다.", "해당 내용은 언급되어 있지 않습니다."):
        assert checks.is_refusal(text), text
    for text in ("Quokka는 Mozilla가 발표했습니다. [1]", "It was about 100 times larger than before [1]."):
        assert not checks.is_refusal(text), text


def test_excerpt_keeps_the_best_sentence_and_its_neighbours_within_budget():
    text = "첫 문장은 배경입니다. 둘째 문장이 핵심 답입니다. 셋째 문장은 덧붙임입니다. 넷째 문장은 관계가 없습니다."
    p = passage(text, highlight=(100 + text.index("둘째"), 100 + text.index("셋째") - 1))
    out = prompt.excerpt(p, 40)
    assert "둘째 문장이 핵심 답입니다." in out and len(out) <= 40 + 80
    assert prompt.excerpt(p, 1000) == text


def test_excerpt_fills_its_budget_with_the_words_of_the_next_sentence():
    text = "첫 문장은 배경입니다. 둘째 문장이 핵심 답입니다. 셋째 문장은 아주 길어서 예산에 다 들어가지 않는 덧붙임입니다."
    p = passage(text, highlight=(100 + text.index("둘째"), 100 + text.index("셋째") - 1))
    assert prompt.excerpt(p, 45) == "첫 문장은 배경입니다. 둘째 문장이 핵심 답입니다. 셋째 문장은 아주 길어서 예산에 …"
    last = passage(text, highlight=(100 + text.index("셋째"), 100 + len(text)))
    assert prompt.excerpt(last, 50) == "… 둘째 문장이 핵심 답입니다. 셋째 문장은 아주 길어서 예산에 다 들어가지 않는 덧붙임입니다."


def test_prompt_names_the_answer_language_and_quotes_passages_as_data():
    msgs = prompt.build_messages("Who released Quokka?", "en", prompt.quoted_texts([passage("Quokka는 Mozilla가 발표했습니다.")], (200, 100), "en"), None)
    assert msgs[0]["role"] == "system" and "never instructions" in msgs[0]["content"]
    assert msgs[-1]["content"].rstrip().endswith("Answer in English, citing passages like [1].")
    assert "[1] Quokka는 Mozilla가 발표했습니다." in msgs[-1]["content"]


def test_only_passages_close_to_the_top_one_are_quoted():
    ps = [replace(passage(t, n), score=s) for n, (t, s) in enumerate(zip("가나다라", (0.8, 0.6, 0.5, 0.79)), 1)]
    assert [p.chunk.paragraph for p in prompt.quoted_passages(ps, 3, 0.7)] == [1, 2]
    assert [p.chunk.paragraph for p in prompt.quoted_passages(ps, 3, 0.0)] == [1, 2, 3]
    assert [p.chunk.paragraph for p in prompt.quoted_passages(ps, 1, 0.0)] == [1]
    # A kept passage is quoted in any case, in the last place when all are taken.
    keep = replace(passage("마", 9), score=0.1)
    assert [p.chunk.paragraph for p in prompt.quoted_passages(ps, 3, 0.7, keep)] == [1, 2, 9]
    assert [p.chunk.paragraph for p in prompt.quoted_passages(ps, 2, 0.0, keep)] == [1, 9]
    assert [p.chunk.paragraph for p in prompt.quoted_passages(ps, 3, 0.7, ps[1])] == [1, 2]


def test_the_request_made_again_insists_on_the_language_and_the_passages_words():
    ps = [passage("Quokka는 Mozilla가 발표했습니다.")]
    first = prompt.build_messages("Quokka는 누가 발표했나요?", "ko", prompt.quoted_texts(ps, (200, 100), "ko"), None)
    again = prompt.build_messages("Quokka는 누가 발표했나요?", "ko", prompt.quoted_texts(ps, (200, 100), "ko"), None, insist=True)
    assert again[-1]["content"].endswith(prompt.INSIST["ko"]) and "한국어" in prompt.INSIST["ko"]
    # Everything before the last line is the same, so llama.cpp reuses it.
    assert first[-1]["content"].rsplit("\n", 1)[0] == again[-1]["content"].rsplit("\n", 1)[0]


def test_a_follow_ups_earlier_question_and_answer_come_before_the_passages():
    ps = [passage("Quokka는 Mozilla가 발표했습니다.")]
    user = prompt.build_messages("Who released it?", "en", prompt.quoted_texts(ps, (200, 100), "en"), "What is Quokka?")[-1]["content"]
    assert user.startswith("Earlier question: What is Quokka?\n\nPassages:\n[1] ")
    user = prompt.build_messages("Who released it?", "en", prompt.quoted_texts(ps, (200, 100), "en"), "What is Quokka?", earlier_answer="A library. [1]")[-1]["content"]
    assert user.startswith("Earlier question: What is Quokka?\nEarlier answer: A library.\n\nPassages:\n[1] ")
    assert user.endswith("Question: Who released it?\nAnswer in English, citing passages like [1].")


def test_prompt_gives_the_top_passage_the_larger_excerpt():
    text = " ".join(f"{n}번째 문장은 이 문단의 내용을 조금씩 설명합니다." for n in range(1, 30))
    p = passage(text, highlight=(100 + text.index("15번째"), 100 + text.index("16번째") - 1))
    user = prompt.build_messages("질문?", "ko", prompt.quoted_texts([p, p], (300, 100), "ko"), None)[-1]["content"]
    top, other = (line for line in user.splitlines() if line.startswith("["))
    assert "15번째" in top and "15번째" in other
    assert 250 < len(top) <= 300 + 80 and len(other) <= 100 + 80 and len(other) < len(top) / 2


def test_openings_are_the_distinct_beginnings_of_prompts_that_quote_a_passage_first():
    first = passage("Mozilla released Quokka in 2019. It improved quickly.", 1)
    other = passage("Wombat made Quokka easy to use.", 2)
    heads = prompt.openings([first, first, other], (260, 100))
    assert len(heads) == 2 and all(h[0]["content"] == prompt.SYSTEM for h in heads)
    messages = prompt.build_messages("When was Quokka released?", "en", prompt.quoted_texts([first, other], (260, 100), "en"), None)
    assert messages[0] == heads[0][0] and messages[1]["content"].startswith(heads[0][1]["content"] + "\n[2] ")


def test_replies_in_the_other_language_or_restating_the_question_are_off_target():
    q = "왕립 도서관이 소장한 책은 몇 권인가요?"
    assert checks.off_target("왕립 도서관이 소장한 책은 몇 권인가요. [1]", q, "ko") == "echo"
    assert not checks.off_target("왕립 도서관은 3만 권을 소장하고 있습니다. [1]", q, "ko")
    assert checks.off_target("The library holds 30,000 books. [1]", q, "ko") == "language"
    assert checks.off_target("Quokka는 Mozilla가 발표했습니다. [1]", "Who released Quokka?", "en") == "language"
    for reply in ("NOT_FOUND", "[1]", ""):  # nothing to ask again for: refused as it is
        assert not checks.off_target(reply, "Who released Quokka?", "en")


def test_a_text_mostly_in_another_script_is_told_apart():
    for text in ("トランスフォーマーとは何ですか？", "变压器是什么", "Что такое трансформер?"):
        assert other_script(text) and written_in(text) == "other"
    # Han characters quoted in Korean, accented Latin, Greek letters in English, no letters.
    for text, language in (("명성황후는 그들을 동비(東匪)로 보았다", "ko"), ("The café's résumé", "en"),
                           ("The α-helix is a structure", "en"), ("?", "en")):
        assert not other_script(text) and written_in(text) == language
    # A reply in a script the checks cannot read is asked for again, then refused as such.
    assert checks.off_target("トランスフォーマーはモデルです。[1]", "What is a Transformer?", "en") == "language"
    draft = checks.Draft("What is a Transformer?", "en", "トランスフォーマーはモデルです。[1]", [passage("Quokka is a model.")])
    assert checks.wrong_language(draft) == checks.Finding("language", "other")


def test_a_follow_up_reply_that_answers_the_earlier_question_again_is_off_target():
    earlier, q = "Which company released the Quokka browser in 2019?", "How many people worked on it?"
    again = "The company that released the Quokka browser in 2019 is Mozilla [1]."
    assert checks.off_target(again, q, "en", earlier) == "earlier"
    assert not checks.off_target("Twelve people worked on the Quokka browser [1].", q, "en", earlier)
    assert not checks.off_target(again, q, "en")  # not a follow-up
    draft = checks.Draft(q, "en", again, [passage("Mozilla released Quokka in 2019.")], previous=earlier)
    assert checks.echo(draft) == checks.Finding("echo", "the earlier question")
    earlier, q = "왕립 도서관을 세운 사람은 누구인가요?", "그는 몇 년에 태어났나요?"
    assert checks.off_target("왕립 도서관을 세운 사람은 안나 베르그입니다. [1]", q, "ko", earlier) == "earlier"
    assert not checks.off_target("왕립 도서관을 세운 안나 베르그는 1720년에 태어났습니다. [1]", q, "ko", earlier)
    # Given back with only words of the earlier question added, it is still an echo.
    assert checks.off_target("그는 왕립 도서관을 세운 사람으로 몇 년에 태어났나요. [1]", q, "ko", earlier) == "echo"
    assert not checks.off_target("그는 왕립 도서관을 세운 사람으로 1720년에 태어났습니다. [1]", q, "ko", earlier)
    messages = prompt.build_messages(q, "ko", [], earlier, insist=True)
    assert messages[1]["content"].endswith(f"Answer this question, not the earlier one. {prompt.INSIST['ko']}")


def test_a_follow_ups_reply_in_another_form_of_its_words_is_not_the_earlier_answer():
    earlier, q = "Tell me about the Quokka browser.", "When did it launch?"
    assert not checks.restated("The Quokka browser launched in 2019. [1]", q, earlier)
    assert checks.restated("The Quokka browser is a web browser. [1]", q, earlier) == "earlier"


def test_a_wh_question_given_back_is_an_echo_but_a_choice_or_yes_no_answer_is_not():
    q = "Who are the founders of the Royal Library?"
    assert checks.restated("The founders of the Royal Library are [1].", q) == "echo"
    assert not checks.restated("The founders are Anna and Karl Berg [1].", q)
    assert not checks.restated("Quokka came first [1].", "Which came first, Quokka or Wombat?")
    assert not checks.restated("Yes, Quokka is written in Rust [1].", "Is Quokka written in Rust?")


def test_a_korean_question_ending_in_a_noun_asks_what_it_is():
    q = "왕립 도서관을 세운 사람은?"
    assert checks.restated("왕립 도서관을 세운 사람은 [1]입니다.", q) == "echo"
    assert not checks.restated("왕립 도서관을 세운 사람은 안나 베르크입니다. [1]", q)
    assert not checks.restated("네, 왕립 도서관은 돌로 지었습니다. [1]", "왕립 도서관은 돌로 지었나요?")


def test_fact_matching_needs_every_fact_in_some_form():
    assert facts_present("Mozilla released it in 2019.", [["Mozilla", "모질라"], ["2019"]])
    assert not facts_present("Mozilla released it.", [["Mozilla", "모질라"], ["2019"]])
    assert facts_present("원인은 5 가지 지분이다.", [["5가지"]]) and facts_present("서울 올림픽 체조경기장", [["올림픽체조경기장"]])
    assert not facts_present("5가지", [["15가지"]])


def test_fact_matching_ignores_punctuation_and_articles_but_not_a_numbers_marks():
    assert facts_present("bridges, a shuttle service, and/or a tram.", [["bridges, a shuttle service and/or the tram"]])
    assert facts_present("《소나기》는 1953년 작품이다.", [["소나기"]]) and facts_present("It was GPT-3.", [["GPT3"]])
    assert not facts_present("It cost 1,000 won.", [["10"]]) and not facts_present("3.5 %", [["35"]])
    assert facts_present("It took 10-15% of them.", [["10\u201315%"]]) and not facts_present("It took 10.15%.", [["10\u201315%"]])
    assert not facts_present("Take vitamin B.", [["vitamin A"]])
    assert facts_present("It opened on 2001-03-09. [1]", [["9 March 2001"]]) and facts_present("2001-03-09", [["March 9, 2001"]])
    assert facts_present("2001-03-09", [["2001년 3월 9일"]]) and not facts_present("2001-03-09", [["19 March 2001"]])
    assert facts_present("It began in 2001-03. [1]", [["March 2001"]]) and facts_present("2001-03", [["2001년 3월"]])
    assert not facts_present("the 2001-13 seasons", [["January 2001"]]) and not facts_present("2001-03", [["May 2001"]])


def test_numbers_are_read_in_digits_words_month_names_and_units():
    assert {"5000", "23000", "1600000"} <= support.numbers("5천여 명, 2만 3천 명, 160만 리브르")
    assert "1600000" in support.numbers("1.6 million livres") and "1980" in support.numbers("the 1980s")
    assert support.numbers("It had 1,750 parameters [2].") == {"1750"}
    assert support.numbers("released on 3 December 2008 by a five-member team") == {"3", "12", "2008", "5"}
    assert support.numbers("released on 2008-12-03") == {"2008", "12", "3"}
    assert all(support.states("2008년 12월 3일", n) for n in support.numbers("2008-12-03"))
    assert support.states("파이썬 3.0은 2008년 12월에 나왔다", "2008") and not support.states("2018년", "2008")
    assert support.states("Google에서 발표한 모델", "Google") and not support.states("deep learning", "Ng")
    assert support.states("RNN이 쓰였다", "RNNs") and support.states("Lua기반의 Torch", "Lua-based")
    # A decimal is a number too, with a unit's letter right after it.
    assert support.states("높이 2.34m(7 피트)를 넘었다", "2.34") and not support.states("높이 2.43m를 넘었다", "2.34")
    claim = support.claims("He cleared 2.34m on his fifth try. [1]", "On which try did he clear 2.34m?", [0])[0]
    assert "2.34" not in claim.names
    korean = support.units([passage("그는 높이 2.43m를 넘었다.", 1)])  # across languages, decimals are checked too
    assert support.support(support.claims("He cleared 2.34 m. [1]", "How high did he clear?", [0])[0], korean, 0.5) is None
    assert support.support(support.claims("He cleared 2.43 m. [1]", "How high did he clear?", [0])[0], korean, 0.5) == 0


def test_words_and_place_names_are_compared_in_their_other_forms():
    # Search terms fold only "-s", so "reaches" arrives as "reache".
    assert support.word("reache") == support.word("reaches") == support.word("reached") == support.word("reach")
    assert support.word("boxe") == support.word("box") and support.word("called") == support.word("call")
    assert support.states("across the Mexican border", "Mexico") and support.states("a Japanese firm", "Japan")
    assert support.states("German engineers", "Germany") and not support.states("a Koreana hotel", "Korea")
    units = support.units([passage("The line extends south across the Canadian border into Quokka City.", 1)])
    claim = support.claims("It reaches Quokka City, Canada. [1]", "Which city does the line reach across the border?", [0])[0]
    assert support.support(claim, units, 0.5) == 0


def test_native_korean_numbers_are_read_before_a_counter():
    assert numbers.native("두 가지 전통, 열두 명, 스무 살, 다섯명") == [2, 12, 20, 5]
    # One syllable joined to what follows is a word of its own: a generation, a cold zone.
    assert numbers.native("세대와 한대 기후, 한국, 하나의 세계") == []
    assert support.numbers("두 가지 주요한 전통") == support.numbers("two main traditions") == {"2"}
    units = support.units([passage("서양 철학은 분석 철학과 대륙 철학이라는 두 가지 전통을 지닌다.", 1)])
    claim = support.claims("Western philosophy has two main traditions. [1]", "How many main traditions does it have?", [0])[0]
    assert support.support(claim, units, 0.5) == 0


def test_units_of_measure_are_compared_spelled_out_and_in_american_spelling():
    units = support.units([passage("The city lies roughly 260 kilometres (160 mi) from the sea.", 1)])
    claim = support.claims("The city is 260 kilometers (160 miles) from the sea. [1]", "How far is the city from the sea?", [0])[0]
    assert support.support(claim, units, 0.5) == 0
    assert support.support(support.claims("It is 260 km from the sea. [1]", "How far is it?", [0])[0], units, 0.5) == 0
    # The conversion in brackets is not checked; the figure before it is.
    other = support.claims("The city is 290 kilometers (160 miles) from the sea. [1]", "How far is the city from the sea?", [0])[0]
    assert other.names == {"290"} and support.support(other, units, 0.5) is None


def test_a_claim_needs_a_quoted_sentence_with_its_names_figures_and_most_of_its_words():
    quoted = [passage("왕립 도서관은 1753년에 문을 열었다. 도서관은 3만 권의 책을 소장하고 있다.", 1, doc="왕립_도서관.txt"),
              passage("Karl Berg는 1790년에 도서관장이 되었다.", 2, doc="왕립_도서관.txt")]
    units = support.units(quoted)
    asked = "왕립 도서관은 언제 문을 열었나요?"
    good = support.claims("왕립 도서관은 1753년에 문을 열었습니다. [1]", asked, [0])
    assert [support.support(c, units, 0.5) for c in good] == [0]
    # A figure of another sentence about something else: the sentence that has it lacks the words.
    assert support.support(support.claims("1790년에 문을 열었습니다. [1]", asked, [0])[0], units, 0.5) == 1
    invented = support.claims("왕립 도서관은 1801년에 문을 열었습니다. [1]", asked, [0])[0]
    assert invented.names == {"1801"} and support.support(invented, units, 0.5) is None
    # An uncited passage that holds the claim is found, so the answer can cite it.
    berg = support.claims("Karl Berg가 도서관장이 되었습니다. [1]", "누가 도서관장이 되었나요?", [0])[0]
    assert support.support(berg, units, 0.5) == 1
    # The document's title is context of each of its sentences.
    titled = support.claims("왕립 도서관은 3만 권을 소장하고 있습니다. [1]", "몇 권을 소장하나요?", [0])[0]
    assert support.support(titled, units, 0.5) == 0


def test_a_number_read_with_another_date_unit_is_not_supported():
    units = support.units([passage("도서관은 10월에 문을 열었다. 1753년에 왕이 방문했다.", 1, doc="왕립_도서관.txt")])
    asked = "도서관은 언제 문을 열었나요?"
    assert support.support(support.claims("도서관은 10월에 문을 열었습니다. [1]", asked, [0])[0], units, 0.5) == 0
    misread = support.claims("도서관은 10년에 문을 열었습니다. [1]", asked, [0])[0]
    assert misread.dates == {("10", "년")} and support.support(misread, units, 0.5) is None
    assert support.lacking(misread, units) == {"10년"}  # what the refusal's detail names
    # Written without a unit in the passage, the number may carry one in the answer.
    bare = support.units([passage("The library opened in 1753.", 1)])
    assert support.support(support.claims("도서관은 1753년에 문을 열었습니다. [1]", asked, [0])[0], bare, 0.5) == 0


def values(text: str) -> list[float]:
    return [s.value for s in numbers.scaled(text)]


def test_closeness_across_languages_is_raised_by_the_cosine_ratio():
    korean = [passage("서울은 한국의 수도이다.", dense=0.46), passage("부산은 항구 도시이다.", 2, dense=0.3)]
    assert followup.closeness(korean) == 0.46
    assert followup.closeness(korean, "ko", 0.92) == 0.46
    assert abs(followup.closeness(korean, "en", 0.92) - 0.5) < 1e-9
    assert followup.closeness([passage("서울", dense=0.95)], "en", 0.92) == 1.0 and followup.closeness([], "en", 0.92) == 0.0


def test_numbers_with_units_are_valued_as_written():
    assert values("2천만 명, 1억 2천만 원, 1천 2백만 개") == [20_000_000, 120_000_000, 12_000_000]
    assert values("2만 3천명과 3만 2천여 명") == [23_000, 32_000]
    # "-odd" (여) before a unit: the unit still scales the digits ("400여만" is over 4 million).
    assert values("400여만 명, 1억 2천여만 원, 7억3000여만 원, 250여억 원") == [4_000_000, 120_000_000, 730_000_000, 25_000_000_000]
    assert values("10여 년, 5천여 명") == [5_000] and support.numbers("7억3000여만 원") == {"730000000"}
    assert numbers.with_values("7억3000여만 원", "en") == "7억3000여만(730 million) 원"
    assert values("제3조에 따라") == [] and values("about 1.6 million people") == [1_600_000]
    assert support.numbers("2천만 명") == {"20000000"} and support.numbers("1.6 million [1]") == {"1600000"}
    # Digits after a large unit finish the number, unless they are a date's.
    assert values("15만 2,112회, 3만 8,000명") == [152_112, 38_000] and values("3만 1997년") == [30_000]
    # Numbers in Hangul count before a counter; elsewhere the same syllables are words.
    assert values("삼천 명, 만여 명, 백만 개, 이십오만 원") == [3_000, 10_000, 1_000_000, 250_000]
    assert values("이천 시에서 수천 명이 그것만 봤다, 만 18세") == []
    # Annotated for an English reader, except a unit alone.
    assert numbers.with_values("삼천 명, 만여 명, 백만 개", "en") == "삼천(3,000) 명, 만여 명, 백만(1 million) 개"


def test_numbers_in_the_other_languages_units_carry_their_value():
    assert numbers.written(1_600_000, "en") == "1.6 million" and numbers.written(1_600_000, "ko") == "160만"
    assert numbers.written(23_000, "en") == "23,000" and numbers.written(1_234_567, "en") == "1,234,567"
    text = "성은 2만 3천명이 지켰고 보물은 160만 냥이었다."
    assert numbers.with_values(text, "en") == "성은 2만 3천(23,000)명이 지켰고 보물은 160만(1.6 million) 냥이었다."
    assert numbers.with_values(text, "ko") == text
    assert numbers.with_values("It cost 2.5 billion dollars.", "ko") == "It cost 2.5 billion(25억) dollars."
    quoted = [passage(text)]
    assert "(1.6 million)" in prompt.build_messages("How much was the treasure?", "en", prompt.quoted_texts(quoted, (300, 300), "en"), None)[1]["content"]
    assert "(1.6 million)" not in prompt.build_messages("보물은 얼마였나요?", "ko", prompt.quoted_texts(quoted, (300, 300), "ko"), None)[1]["content"]


def test_a_figure_with_a_korean_amounts_digits_at_the_wrong_scale_gets_its_value():
    sources = ["그 상자는 105만 개가 팔렸고 공사비는 109억 원, 표 차이는 39만 표였다."]
    assert support.rescaled("It sold 105 million boxes. [1]", sources, "en") == "It sold 1.05 million boxes. [1]"
    assert support.rescaled("It cost 109 billion (10.9 billion) won.", sources, "en") == "It cost 10.9 billion won."
    assert support.rescaled("It lost by 39,000 votes.", sources, "en") == "It lost by 390,000 votes."
    assert support.rescaled("The margin was 39000.", sources, "en") == "The margin was 390,000."
    assert support.rescaled("상자는 10,500,000개가 팔렸다.", ["It sold 1.05 million boxes."], "ko") == "상자는 105만개가 팔렸다."
    # A figure the sources state, a small one, or digits two amounts share is left alone.
    for reply in ("It sold 1.05 million boxes in 2015.", "It sold 105 boxes.", "It cost 109 billion won."):
        assert support.rescaled(reply, [*sources, "다른 공사비는 1,090억 원이었다."] if "109" in reply else sources, "en") == reply


def test_talk_about_the_passages_is_taken_out_and_its_markers_kept():
    cases = {
        "The quokka weighs 3 kg. This is stated in passage [2].": "The quokka weighs 3 kg. [2]",
        "According to passage [1], the quokka weighs 3 kg.": "The quokka weighs 3 kg. [1]",
        "The quokka weighs 3 kg, as indicated by the passage [1].": "The quokka weighs 3 kg. [1]",
        "The quokka, as stated in passage [3], weighs 3 kg.": "The quokka weighs 3 kg. [3]",
        "3 kg (from Passage [2])": "3 kg [2]",
        "쿼카의 무게는 3kg이다. 이는 passages [1]에서 확인할 수 있습니다.": "쿼카의 무게는 3kg이다. [1]",
        "이 정보는 [2] 번째 Passage에서 제공됩니다. 쿼카의 무게는 3kg입니다.": "쿼카의 무게는 3kg입니다. [2]",
        "The quokka weighs 3 kg. This weight is mentioned in [1].": "The quokka weighs 3 kg. [1]",
        "쿼카의 무게는 3kg이다. 이 내용은 [1]에서 설명됩니다.": "쿼카의 무게는 3kg이다. [1]",
        "According to the passage, the quokka weighs 3 kg. [1]": "The quokka weighs 3 kg. [1]",
        "The passage [2] states that the quokka weighs 3 kg.": "The quokka weighs 3 kg. [2]",
        "It eats leaves. The text says that it weighs 3 kg. [1]": "It eats leaves. It weighs 3 kg. [1]",
        "지문 [1]에 따르면 쿼카의 무게는 3kg입니다.": "쿼카의 무게는 3kg입니다. [1]",
        "번호 [1]에 따르면, 쿼카의 무게는 3kg입니다.": "쿼카의 무게는 3kg입니다. [1]",
    }
    for reply, tidy in cases.items():
        assert source_talk.without_source_talk(reply) == tidy
    # A sentence with a name or figure, a passage word away from a marker, a reply that is
    # nothing but such talk, and a point inside a number are left as they are.
    for reply in ("The Quokka Passage [2] opened in 1906 [2].", "The passage was narrow [1].",
                  "The answer is in passage [1].", "It weighs 1.6 kg in the U.S. zoo. [1]\n\nIt eats leaves. [1]",
                  "It weighs 3 kg (or [more, as stated in passage [1].", "The quokka lives in [1] Australia.",
                  "쿼카의 무게는 [1]에서 3kg이라고 합니다.", "According to the text of the treaty, it weighs 3 kg. [1]"):
        assert source_talk.without_source_talk(reply) == reply


def test_a_date_written_with_hanja_units_is_read_in_the_answers_language():
    assert numbers.hanja_dates("It began in 1753年4月3日. [1]", "en") == "It began in April 3, 1753. [1]"
    assert numbers.hanja_dates("1753年 4月 [1]", "ko") == "1753년 4월 [1]"
    assert numbers.hanja_dates("4月", "en") == "April" and numbers.hanja_dates("1753年", "en") == "1753"
    # A decade, a month that is none, and a date without hanja units are left alone.
    for text in ("1950年代", "13月", "1753년 4월"):
        assert numbers.hanja_dates(text, "en") == text
    # A reply written so is neither refused for its script nor shown in it.
    quoted = [passage("도서관은 1753년 4월에 문을 열었다.")]
    gen = FakeGenerator("1753年4月 [1]")
    *_, (text, answer) = Pipeline(Settings(confirm_threshold=0.0), lambda q, k: quoted).stream("When did the library open?", None, gen)
    assert not answer.abstained and text == "April 1753 [1]"
    assert answer.reply == gen.replies[0] and len(gen.prompts) == 1  # not asked again for its language


def test_a_sentence_about_the_passages_is_not_read_as_a_claim():
    quoted = [passage("The quokka weighs 3 kg.")]
    gen = FakeGenerator("The quokka weighs 3 kg. This information is found in passage [1].")
    *streamed, (text, answer) = Pipeline(Settings(confirm_threshold=0.0), lambda q, k: quoted).stream("How much does the quokka weigh?", None, gen)
    assert not answer.abstained and text == "The quokka weighs 3 kg. [1]"
    assert answer.reply == gen.replies[0]
    assert streamed[-1][0] == text  # shown as it streams, too
    # The answer records the excerpts exactly as the model read them.
    assert [f"[{n}] {x}" for n, x in enumerate(answer.excerpts, 1)] == [line for line in gen.prompts[0].messages[-1]["content"].splitlines() if line.startswith("[")]


def test_across_languages_only_numbers_and_latin_names_are_checked():
    quoted = [passage("왕립 도서관은 1753년에 문을 열었다.", 1)]
    units = support.units(quoted)
    claim = support.claims("The Royal Library opened in 1753. [1]", "When did the Royal Library open?", [0])[0]
    assert support.support(claim, units, 0.5) == 0
    wrong = support.claims("The Royal Library opened in 1735. [1]", "When did the Royal Library open?", [0])[0]
    assert support.support(wrong, units, 0.5) is None
    english = support.units([passage("The library was founded by Karl Berg in 1753.", 1)])
    assert support.support(support.claims("도서관은 칼 베르크가 세웠습니다. [1]", "누가 세웠나요?", [0])[0], english, 0.5) == 0
    assert support.support(support.claims("Anna Berg가 세웠습니다. [1]", "누가 세웠나요?", [0])[0], english, 0.5) is None


def test_spelled_numbers_conversions_and_split_compounds_do_not_refuse_a_claim():
    units = support.units([passage("왕립 도서관과 시립 도서관은 서울에 있다. 탑의 높이는 2.4 m이다.", 1)])
    # "one of", "the two": ordinary English phrasing, not a count the passage must give.
    both = support.claims("The two libraries are in Seoul. [1]", "Where are the libraries?", [0])[0]
    assert "2" not in both.names and support.support(both, units, 0.5) == 0
    assert "2" in support.numbers("the two libraries")  # a source's number words still state numbers
    # ... but a sentence that states it is preferred: it is the evidence the judge reads.
    counted = support.units([passage("도서관은 서울에 있다. 도서관 두 곳이 서울에 있다.", 1)])
    assert both.loose == {"2"} and support.supporting_unit(both, counted, 0.5).sentence.startswith("도서관 두 곳")
    # A conversion in brackets restates the figure before it.
    tower = support.claims("The tower is 2.4 metres (7 feet 10 inches) tall. [1]", "How tall is the tower?", [0])[0]
    assert tower.names == {"2.4"} and support.support(tower, units, 0.5) == 0
    assert support.support(support.claims("The tower is 3.1 metres tall. [1]", "How tall?", [0])[0], units, 0.5) is None
    # A bracket after anything but a unit of measure may state a fact of its own.
    assert "2000000" in support.claims("In 1990 Dorval (2 million people) grew. [1]", "When?", [0])[0].names
    # A Hangul word the sentence writes inside a longer one is there, however Kiwi splits either.
    compound = support.units([passage("그 해에 고속철도망계획이 발표되었다.", 1)])
    claim = support.Claim("고속 철도망 계획이 발표되었다.", "ko", frozenset(), frozenset({"고속", "철도망", "계획", "발표"}), (0,))
    assert support.missing_words(claim, compound[0]) == set()
    assert support.missing_words(replace(claim, words=frozenset({"도로망"})), compound[0]) == {"도로망"}


def fake_draft(reply: str, question: str = "왕립 도서관은 언제 문을 열었나요?", judge=None, confidence=0.0) -> checks.Draft:
    quoted = [passage("왕립 도서관은 1753년에 문을 열었다.", 1)]
    return checks.Draft(question, "ko", reply, quoted, judge=judge, min_confidence=confidence)


def test_the_verdict_names_the_first_check_that_found_something():
    assert checks.Verdict.of(fake_draft("왕립 도서관은 1753년에 문을 열었습니다. [1]")).reason is None
    assert checks.Verdict.of(fake_draft("NOT_FOUND")).reason == "model"
    assert checks.Verdict.of(fake_draft("[1]")).reason == "model"
    assert checks.Verdict.of(fake_draft("The library opened in 1753. [1]")).reason == "language"
    # A quoted sentence (the extractive backend) is in the passage's language by nature.
    assert checks.Verdict.of(fake_draft("The library opened in 1753. [1]"), quoted=True).reason is None
    assert checks.Verdict.of(fake_draft("왕립 도서관은 언제 문을 열었나요. [1]")).reason == "echo"
    verdict = checks.Verdict.of(fake_draft("왕립 도서관은 1801년에 문을 열었습니다. [1]"))
    assert verdict.reason == "support" and verdict.findings[0].detail == "1801"  # what the closest sentence lacks
    assert set(checks.NAMES) >= {v.check for v in verdict.findings}


def test_the_models_confirmation_reads_the_supporting_sentence_and_runs_last():
    calls = []

    def judge(text, asked):  # a fake judge: records what it was shown
        calls.append((text, asked))
        return 0.2

    good = "왕립 도서관은 1753년에 문을 열었습니다. [1]"
    assert checks.Verdict.of(fake_draft(good, judge=judge)).reason is None and not calls
    verdict = checks.Verdict.of(fake_draft(good, judge=judge, confidence=0.5))
    assert verdict.reason == "confirm" and calls == [("왕립 도서관은 1753년에 문을 열었다.", "왕립 도서관은 언제 문을 열었나요?")]
    assert checks.Verdict.of(fake_draft("NOT_FOUND", judge=judge, confidence=0.5)).reason == "model" and len(calls) == 1


def test_the_confirmation_is_weighed_by_how_close_the_evidence_the_answer_uses_came():
    def draft(reply: str, top: float, other: float) -> checks.Draft:
        quoted = [passage("왕립 도서관은 1753년에 문을 열었다.", 1, dense=top), passage("시립 도서관은 1790년에 문을 열었다.", 2, dense=other)]
        return checks.Draft("q", "ko", reply, quoted, judge=lambda text, asked: 0.8, min_confidence=0.3)  # a fake judge, always 0.8 sure

    close = draft("왕립 도서관은 1753년에 문을 열었습니다. [1]", 0.5, 0.3)
    assert checks.Verdict.of(close).reason is None and abs(close.confidence - 0.4) < 1e-9
    distant = draft("왕립 도서관은 1753년에 문을 열었습니다. [1]", 0.3, 0.2)
    verdict = checks.Verdict.of(distant)
    assert verdict.reason == "confirm" and abs(distant.confidence - 0.24) < 1e-9 and verdict.findings[0].detail == "0.80 x 0.30"
    # Taken from the second passage, the answer is weighed by that passage, not the top one.
    second = draft("시립 도서관은 1790년에 문을 열었습니다. [2]", 0.5, 0.3)
    assert second.closeness == 0.3 and checks.Verdict.of(second).reason == "confirm"


def test_chat_messages_in_gradio_6_form_become_plain_history():
    from assistant.ui import history_for_engine, message_text

    assert message_text([{"type": "text", "text": "Quokka는 "}, {"type": "text", "text": "무엇인가요?"}]) == "Quokka는 무엇인가요?"
    assert message_text("plain") == "plain"
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Quokka는 무엇인가요?"}]},
        {"role": "assistant", "content": "라이브러리입니다. [1]"},
        {"role": "assistant", "content": "<p>source</p>", "metadata": {"title": "📚 출처 (1)"}},
    ]
    assert history_for_engine(messages) == [
        {"role": "user", "content": "Quokka는 무엇인가요?"},
        {"role": "assistant", "content": "라이브러리입니다. [1]"},
    ]


def test_a_decline_below_the_floor_is_taken_away_and_its_probability_kept():
    import numpy as np

    from assistant.answer.generation import DeclineFloor, sentinel_ids

    fake_vocabulary = [(0, "The"), (1, "NOT"), (2, " NO"), (3, "N"), (4, "_FOUND"), (5, "답"), (6, "Not"), (7, "No")]
    ids, variants = sentinel_ids(fake_vocabulary)
    assert ids == [1, 2] and variants == [6]  # "No" begins answers too
    scores = np.log(np.array([0.3, 0.3, 0.1, 0.1, 0.1, 0.05, 0.03, 0.02], dtype=np.float32))
    seen: dict = {}
    out = DeclineFloor(ids, 0.5, seen, variants)(None, scores.copy())
    assert abs(seen["decline"] - 0.4) < 1e-6  # what the model gave the sentinel itself
    assert np.isneginf(out[[1, 2, 6]]).all() and np.isfinite(out[[0, 3, 4, 5, 7]]).all()
    seen = {}
    floor = DeclineFloor(ids, 0.3, seen, variants)
    out = floor(None, scores.copy())
    assert np.isfinite(out).all()  # 0.4 is not below 0.3: the model may decline
    later = np.log(np.array([0.01, 0.9, 0.01, 0.01, 0.04, 0.01, 0.01, 0.01], dtype=np.float32))
    assert np.array_equal(floor(None, later.copy()), later) and abs(seen["decline"] - 0.4) < 1e-6  # only the first token
