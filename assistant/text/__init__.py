"""Text analysis shared by indexing and answering: Kiwi morphemes and sentences
(``analysis``), language detection (``language``) and per-language word lists (``lexicon``)."""
