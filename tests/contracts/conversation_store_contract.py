"""The contract every ConversationStore adapter honours. Subclass it and provide a `make_store(max_turns,
max_tokens)` fixture returning a factory; `reopen` builds a second store on the same storage."""

from ragline.conversation import CitedSource, Turn


def turn(number: int, tokens: int = 10) -> Turn:
    return Turn(
        question=f"and q{number}?",
        standalone=f"What about q{number}?",
        answer=f"Answer {number} [1].",
        sources=(CitedSource("/docs/a b.pdf", (number, number + 1)), CitedSource("s3://bucket/c.pdf", ())),
        tokens=tokens,
        created_at=f"2026-12-01T08:00:{number:02d}+00:00",
    )


class ConversationStoreContract:
    def test_an_unknown_conversation_has_no_turns(self, make_store):
        assert make_store(5, 1000).recent("never-seen") == []

    def test_appended_turns_come_back_oldest_first_as_written(self, make_store):
        store = make_store(5, 1000)
        store.append("s", turn(1))
        store.append("s", turn(2))
        assert store.recent("s") == [turn(1), turn(2)]

    def test_conversations_are_kept_apart(self, make_store):
        store = make_store(5, 1000)
        store.append("s1", turn(1))
        store.append("s2", turn(2))
        assert store.recent("s1") == [turn(1)] and store.recent("s2") == [turn(2)]

    def test_only_the_last_max_turns_are_kept(self, make_store):
        store = make_store(3, 1000)
        for number in range(1, 6):
            store.append("s", turn(number))
        assert store.recent("s") == [turn(3), turn(4), turn(5)]

    def test_the_newest_turns_that_fit_in_max_tokens_are_read_back(self, make_store):
        store = make_store(5, 25)
        for number, tokens in ((1, 6), (2, 10), (3, 10)):
            store.append("s", turn(number, tokens))
        assert store.recent("s") == [turn(2, 10), turn(3, 10)]  # 20 tokens; with the oldest, 26: over
        store.append("s", turn(4, 5))
        assert store.recent("s") == [turn(2, 10), turn(3, 10), turn(4, 5)]  # exactly 25 fit

    def test_a_newest_turn_over_max_tokens_leaves_no_history(self, make_store):
        store = make_store(5, 25)
        store.append("s", turn(1, 5))
        store.append("s", turn(2, 26))
        assert store.recent("s") == []

    def test_turns_outlive_the_store_that_wrote_them(self, make_store, reopen):
        store = make_store(5, 1000)
        store.append("s", turn(1))
        again = reopen(5, 1000)
        assert again.recent("s") == [turn(1)]
        again.append("s", turn(2))
        assert again.recent("s") == [turn(1), turn(2)]
