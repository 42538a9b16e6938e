#include "nector/http/stream_text.hpp"

#include "nector/transport/errors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <limits>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http {

// Readable failures: gtest prints events with this (found by argument-dependent lookup).
void PrintTo(const ServerSentEvent& e, std::ostream* os) {
    *os << "{event=" << ::testing::PrintToString(e.event)
        << " data=" << ::testing::PrintToString(e.data) << " id=" << ::testing::PrintToString(e.id)
        << " retry=";
    if (e.retry) {
        *os << e.retry->count() << "ms}";
    } else {
        *os << "none}";
    }
}

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using Events = std::vector<ServerSentEvent>;
using Lines = std::vector<std::string>;

// What `f` throws: a TransportSpecificError with code `code` and `fragment` in its message.
template <class F>
std::string expect_error(F&& f, errc code, std::string_view fragment) {
    try {
        f();
    } catch (const TransportSpecificError& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected an error with \"" << fragment << "\"";
    return {};
}

ServerSentEvent message(std::string data) { return ServerSentEvent{.data = std::move(data)}; }

// --- SseDecoder helpers ------------------------------------------------------------------

// The events of `stream`, fed in pieces of `piece` bytes (the whole stream when 0).
Events decode(std::string_view stream, std::size_t piece = 0) {
    SseDecoder decoder;
    Events events;
    if (piece == 0) piece = std::max<std::size_t>(stream.size(), 1);
    for (std::size_t at = 0; at < stream.size(); at += piece) {
        decoder.feed(stream.substr(at, piece), events);
    }
    decoder.finish();
    return events;
}

// The events of `stream`, fed as two chunks split at `at`.
Events decode_split(std::string_view stream, std::size_t at) {
    SseDecoder decoder;
    Events events;
    decoder.feed(stream.substr(0, at), events);
    decoder.feed(stream.substr(at), events);
    decoder.finish();
    return events;
}

// `stream` decodes to `expected` whole, one byte at a time, and split in two at every offset
// (which splits every CRLF, byte order mark and UTF-8 sequence somewhere).
void expect_events(std::string_view stream, const Events& expected) {
    EXPECT_EQ(decode(stream), expected) << "whole";
    EXPECT_EQ(decode(stream, 1), expected) << "one byte at a time";
    for (std::size_t at = 0; at <= stream.size(); ++at) {
        const Events events = decode_split(stream, at);
        EXPECT_EQ(events, expected) << "split at " << at;
        if (events != expected) break;
    }
}

// --- SseDecoder: the WHATWG standard's examples ------------------------------------------

TEST(SseDecoderSpec, StockExampleJoinsDataLinesWithLf) {
    expect_events("data: YHOO\ndata: +2\ndata: 10\n\n", {message("YHOO\n+2\n10")});
}

TEST(SseDecoderSpec, IntroductionMessages) {
    expect_events(
        "data: This is the first message.\n\n"
        "data: This is the second message, it\n"
        "data: has two lines.\n\n"
        "data: This is the third message.\n\n",
        {message("This is the first message."),
         message("This is the second message, it\nhas two lines."),
         message("This is the third message.")});
}

TEST(SseDecoderSpec, EventTypes) {
    expect_events(
        "event: add\ndata: 73857293\n\n"
        "event: remove\ndata: 2153\n\n"
        "event: add\ndata: 113411\n\n",
        {{.event = "add", .data = "73857293"},
         {.event = "remove", .data = "2153"},
         {.event = "add", .data = "113411"}});
}

TEST(SseDecoderSpec, FourBlocksWithCommentAndIds) {
    const std::string stream =
        ": test stream\n"
        "\n"
        "data: first event\n"
        "id: 1\n"
        "\n"
        "data:second event\n"
        "id\n"
        "\n"
        "data:  third event\n";
    // The comment block fires nothing; "id" without a value resets the ID; the last block is
    // not followed by a blank line, so the end of the stream does not dispatch it.
    const Events expected{{.data = "first event", .id = "1"}, {.data = "second event"}};
    expect_events(stream, expected);

    Events with_blank_line = expected;
    with_blank_line.push_back(message(" third event")); // one leading space only is removed
    expect_events(stream + "\n", with_blank_line);
}

TEST(SseDecoderSpec, FourBlocksLastEventIdBetweenBlocks) {
    SseDecoder decoder;
    Events events;
    decoder.feed(": test stream\n\ndata: first event\nid: 1\n", events);
    EXPECT_EQ(decoder.last_event_id(), "") << "an id takes effect at dispatch";
    decoder.feed("\n", events);
    EXPECT_EQ(decoder.last_event_id(), "1");
    decoder.feed("data:second event\nid\n\n", events);
    EXPECT_EQ(decoder.last_event_id(), "");
    EXPECT_EQ(events.size(), 2U);
}

TEST(SseDecoderSpec, EmptyDataLines) {
    // "data" alone appends an empty line: the first block's data is empty, the middle one's a
    // single LF, and the last block is discarded (no blank line after it).
    const std::string stream = "data\n\ndata\ndata\n\ndata:";
    expect_events(stream, {message(""), message("\n")});
    expect_events(stream + "\n\n", {message(""), message("\n"), message("")});
}

TEST(SseDecoderSpec, SpaceAfterColonIsOptional) {
    const Events events = decode("data:test\n\ndata: test\n\n");
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0], events[1]);
    EXPECT_EQ(events[0], message("test"));
}

TEST(SseDecoderSpec, IncompleteLastEventIsDiscarded) {
    // Two events in the stream; the second has no blank line after it.
    expect_events("data: first\n\ndata: second\n", {message("first")});
    expect_events("data: first\n\ndata: second", {message("first")});
}

// --- SseDecoder: line endings ------------------------------------------------------------

TEST(SseDecoderLines, LfCrLfAndCrEndLines) {
    expect_events("data: a\n\n", {message("a")});
    expect_events("data: a\r\n\r\n", {message("a")});
    expect_events("data: a\r\r", {message("a")});
}

TEST(SseDecoderLines, MixedEndings) {
    expect_events(
        "data: 1\r\ndata: 2\rdata: 3\n\r\n" // one event, three lines
        "data: 4\r\r"                       // CR CR: a line, then a blank line
        "data: 5\n\r"                       // LF CR: a line, then a blank line
        "data: 6\r\n\n",                    // CRLF LF
        {message("1\n2\n3"), message("4"), message("5"), message("6")});
}

TEST(SseDecoderLines, LoneCrInsideALineEndsIt) {
    expect_events("data: a\rb\n\n", {message("a")}); // "b" is a field without a value
    expect_events("data: a\rdata: b\n\n", {message("a\nb")});
}

TEST(SseDecoderLines, CrAtTheEndOfAChunkThenLfIsOneTerminator) {
    SseDecoder decoder;
    Events events;
    decoder.feed("data: a\r", events);
    decoder.feed("\ndata: b\r", events);
    EXPECT_TRUE(events.empty()) << "the LF completed the CRLF; it is not a blank line";
    decoder.feed("\n", events);
    EXPECT_TRUE(events.empty());
    decoder.feed("\r\n", events);
    EXPECT_EQ(events, Events{message("a\nb")});
}

TEST(SseDecoderLines, CrEndedBlankLineDispatchesWithoutWaitingForMoreBytes) {
    SseDecoder decoder;
    Events events;
    decoder.feed("data: now\r\r", events);
    EXPECT_EQ(events, Events{message("now")});
}

TEST(SseDecoderLines, EmptyChunksChangeNothing) {
    SseDecoder decoder;
    Events events;
    decoder.feed("", events);
    decoder.feed("data: a\r", events);
    decoder.feed("", events);
    decoder.feed("\n", events);
    decoder.feed("", events);
    decoder.feed("\n", events);
    EXPECT_EQ(events, Events{message("a")});
}

TEST(SseDecoderLines, EventsAreAppended) {
    SseDecoder decoder;
    Events events{message("already there")};
    decoder.feed("data: new\n\n", events);
    EXPECT_EQ(events, (Events{message("already there"), message("new")}));
}

// --- SseDecoder: fields ------------------------------------------------------------------

TEST(SseDecoderFields, CommentsAreIgnored) {
    expect_events(":\n: comment\n:no space\ndata: a\n: between data lines\ndata: b\n\n",
                  {message("a\nb")});
    expect_events(": only comments\n\n:\n\n", {});
}

TEST(SseDecoderFields, ValueRunsFromTheFirstColon) {
    expect_events("data:a:b: c\n\n", {message("a:b: c")});
    expect_events("data:  two spaces\n\n", {message(" two spaces")});
    expect_events("data:\tTab\n\n", {message("\tTab")});
    expect_events("data: \n\n", {message("")});
}

TEST(SseDecoderFields, UnknownAndMisspelledFieldsAreIgnored) {
    expect_events("Data: a\nDATA: b\ndata : c\n data: d\nfoo: bar\nfoo\n\n", {});
    expect_events("foo: bar\ndata: a\n\n", {message("a")});
}

TEST(SseDecoderFields, EventTypeAppliesToOneEvent) {
    expect_events("event: a\ndata: 1\n\ndata: 2\n\n", {{.event = "a", .data = "1"}, message("2")});
    expect_events("event: a\nevent: b\ndata: 1\n\n", {{.event = "b", .data = "1"}});
    // A blank line resets the type even when it dispatches nothing.
    expect_events("event: a\n\ndata: 1\n\n", {message("1")});
    // An empty type means "message".
    expect_events("event: a\nevent\ndata: 1\n\nevent:\ndata: 2\n\n", {message("1"), message("2")});
}

TEST(SseDecoderFields, IdPersistsAcrossEvents) {
    expect_events("id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\nid:\ndata: d\n\n",
                  {{.data = "a", .id = "7"},
                   {.data = "b", .id = "7"},
                   {.data = "c", .id = "8"},
                   {.data = "d"}});
}

TEST(SseDecoderFields, IdWithNulIsIgnored) {
    expect_events("id: 1\n\nid: a\0b\ndata: x\n\nid: \0\ndata: y\n\n"s,
                  {{.data = "x", .id = "1"}, {.data = "y", .id = "1"}});
    SseDecoder decoder;
    Events events;
    decoder.feed("id: ok\n\nid: \0bad\n\n"s, events);
    EXPECT_EQ(decoder.last_event_id(), "ok");
    EXPECT_TRUE(events.empty());
}

TEST(SseDecoderFields, IdWithoutDataSetsLastEventIdButDispatchesNothing) {
    SseDecoder decoder;
    Events events;
    decoder.feed("id: 42\n\n", events);
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(decoder.last_event_id(), "42");
    decoder.feed("data: later\n\n", events);
    EXPECT_EQ(events, (Events{{.data = "later", .id = "42"}}));
}

TEST(SseDecoderFields, IdTakesEffectAtDispatchWhateverItsPositionInTheEvent) {
    expect_events("data: a\nid: 1\n\n", {{.data = "a", .id = "1"}});
    expect_events("id: 1\ndata: a\nid: 2\n\n", {{.data = "a", .id = "2"}});
}

TEST(SseDecoderFields, RetryTakesAsciiDigitsOnly) {
    expect_events("retry: 1500\ndata: a\n\n", {{.data = "a", .retry = 1500ms}});
    expect_events("retry:0\ndata: a\n\n", {{.data = "a", .retry = 0ms}});
    expect_events("retry: 007\ndata: a\n\n", {{.data = "a", .retry = 7ms}});
    for (const std::string value :
         {"1500ms", "-1", "+1", "1.5", "1e3", " 1500", "1500 ", "", "abc", "\xEF\xBC\x91"}) {
        SseDecoder decoder;
        Events events;
        decoder.feed("retry: 1000\n\nretry: " + value + "\ndata: a\n\n", events);
        EXPECT_EQ(decoder.retry(), 1000ms) << "retry: \"" << value << "\" is ignored";
        EXPECT_EQ(events, (Events{{.data = "a", .retry = 1000ms}})) << value;
    }
    SseDecoder decoder;
    Events events;
    decoder.feed("retry\ndata: a\n\n", events);
    EXPECT_EQ(decoder.retry(), std::nullopt) << "a retry field without a value is ignored";
    EXPECT_EQ(events, Events{message("a")});
}

TEST(SseDecoderFields, RetryPersistsAndAppliesToLaterEvents) {
    expect_events("data: a\n\nretry: 10\ndata: b\n\ndata: c\n\nretry: 20\n\ndata: d\n\n",
                  {message("a"),
                   {.data = "b", .retry = 10ms},
                   {.data = "c", .retry = 10ms},
                   {.data = "d", .retry = 20ms}});
}

TEST(SseDecoderFields, RetryTakesEffectBeforeTheEventEnds) {
    SseDecoder decoder;
    Events events;
    decoder.feed("retry: 3000\ndata: incomplete\n", events);
    EXPECT_EQ(decoder.retry(), 3000ms);
    decoder.finish();
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(decoder.retry(), 3000ms) << "the reconnection time outlives the stream";
}

TEST(SseDecoderFields, HugeRetrySaturates) {
    SseDecoder decoder;
    Events events;
    const auto max = std::chrono::milliseconds::max();
    decoder.feed("retry: " + std::to_string(max.count()) + "\n", events);
    EXPECT_EQ(decoder.retry(), max);
    decoder.feed("retry: 1\nretry: 99999999999999999999999999999999999999\n", events);
    EXPECT_EQ(decoder.retry(), max);
    decoder.feed("retry: 1\nretry: " + std::to_string(max.count()) + "0\n", events);
    EXPECT_EQ(decoder.retry(), max);
}

// --- SseDecoder: byte order mark and UTF-8 ----------------------------------------------

constexpr std::string_view bom = "\xEF\xBB\xBF";

TEST(SseDecoderUtf8, LeadingByteOrderMarkIsSkipped) {
    expect_events(std::string(bom) + "data: a\n\n", {message("a")});
    expect_events(std::string(bom) + "\n" + "data: a\n\n", {message("a")});
    expect_events(bom, {});
}

TEST(SseDecoderUtf8, OnlyOneByteOrderMarkAtTheStartIsSkipped) {
    // Web platform tests eventsource/format-bom.htm and format-bom-2.htm: a later mark, or a
    // second one, is part of the field name, which is then unknown.
    const std::string b(bom);
    expect_events(b + "data:1\n\n" + b + "data:2\n\ndata:3\n\n", {message("1"), message("3")});
    expect_events(b + b + "data:1\n\ndata:2\n\ndata:3\n\n", {message("2"), message("3")});
    expect_events("data: " + b + "x\n\n", {message(b + "x")}); // data keeps the mark
}

TEST(SseDecoderUtf8, PartialByteOrderMarkIsData) {
    // The held bytes are not dropped: they make the first field name unknown.
    expect_events(
        "\xEF\xBB"
        "data: a\n\ndata: b\n\n",
        {message("b")});
    expect_events(
        "\xEF"
        "data: a\n\ndata: b\n\n",
        {message("b")});
    expect_events(
        "\xEF\xBB\n"
        "data: b\n\n",
        {message("b")});
    expect_events("\xEF\xBB", {});
}

TEST(SseDecoderUtf8, ByteOrderMarkSplitAcrossChunks) {
    SseDecoder decoder;
    Events events;
    decoder.feed("\xEF", events);
    decoder.feed("", events);
    decoder.feed("\xBB", events);
    decoder.feed(
        "\xBF"
        "data: a\n\n",
        events);
    EXPECT_EQ(events, Events{message("a")});
}

TEST(SseDecoderUtf8, ValidUtf8IsKept) {
    const std::string text = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBD";
    expect_events("event: " + text + "\nid: " + text + "\ndata: " + text + "\n\n",
                  {{.event = text, .data = text, .id = text}});
}

TEST(SseDecoderUtf8, InvalidUtf8IsReplaced) {
    const std::string r = "\xEF\xBF\xBD"; // U+FFFD
    const std::vector<std::pair<std::string, std::string>> cases{
        {"a\xFF"
         "b",
         "a" + r + "b"},
        {"\x80", r},
        {"\xC0\xAF", r + r},                 // overlong: each byte
        {"\xE0\x80\xAF", r + r + r},         // overlong 3-byte form
        {"\xED\xA0\x80", r + r + r},         // a surrogate
        {"\xF4\x90\x80\x80", r + r + r + r}, // above U+10FFFF
        {"\xE2\x82", r},                     // truncated at the end of the line
        {"\xE2\x82"
         "x",
         r + "x"},                                    // one U+FFFD per maximal subpart
        {"\xE2\x82\xE2\x82\xAC", r + "\xE2\x82\xAC"}, // then a valid sequence
        {"\xF0\x9F\x98"
         "\xC3\xA9",
         r + "\xC3\xA9"},
        {"\xF8\x88\x80\x80\x80", r + r + r + r + r},
    };
    for (const auto& [input, output] : cases) {
        SCOPED_TRACE(::testing::PrintToString(input));
        expect_events("data: " + input + "\n\n", {message(output)});
    }
    // A truncated sequence before the line's end does not swallow the terminator.
    expect_events("data: \xE2\x82\ndata: b\n\n", {message(r + "\nb")});
    expect_events("event: \xFF\ndata: a\n\n", {{.event = r, .data = "a"}});
}

// --- SseDecoder: end of stream and reconnection ------------------------------------------

TEST(SseDecoderFinish, DropsThePartialEventAndLine) {
    SseDecoder decoder;
    Events events;
    decoder.feed("event: x\nid: 5\ndata: a\ndata: partial line", events);
    decoder.finish();
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(decoder.last_event_id(), "") << "the id of an undispatched event does not count";
    // The next stream starts from scratch, apart from the last event ID and retry.
    decoder.feed("\n\ndata: b\n\n", events);
    EXPECT_EQ(events, Events{message("b")});
}

TEST(SseDecoderFinish, NextStreamKeepsIdAndRetryAndChecksItsByteOrderMark) {
    SseDecoder decoder;
    Events events;
    decoder.feed("retry: 250\nid: 9\ndata: a\n\nid: 10\n", events);
    decoder.finish();
    EXPECT_EQ(decoder.last_event_id(), "9");
    EXPECT_EQ(decoder.retry(), 250ms);
    decoder.feed(std::string(bom) + "data: b\n\n", events);
    EXPECT_EQ(events, (Events{{.data = "a", .id = "9", .retry = 250ms},
                              {.data = "b", .id = "9", .retry = 250ms}}));
}

TEST(SseDecoderFinish, PendingCrDoesNotEatTheNextStreamsFirstLf) {
    SseDecoder decoder;
    Events events;
    decoder.feed("data: a\r", events);
    decoder.finish();
    decoder.feed("\ndata: b\n\n", events);
    EXPECT_EQ(events, Events{message("b")}) << "the LF is a blank line of the new stream";
}

TEST(SseDecoderFinish, CommentInProgressEndsWithTheStream) {
    SseDecoder decoder;
    Events events;
    decoder.feed(": a comment without its end", events);
    decoder.finish();
    decoder.feed("data: b\n\n", events);
    EXPECT_EQ(events, Events{message("b")});
}

// --- SseDecoder: long samples in any split -----------------------------------------------

// A long stream using every feature, and the events it must decode to.
std::pair<std::string, Events> long_sample() {
    std::string stream(bom);
    Events expected;
    const std::vector<std::string> endings{"\n", "\r\n", "\r"};
    std::string id;
    std::optional<std::chrono::milliseconds> retry;
    for (int i = 0; i < 300; ++i) {
        const std::string& end = endings[static_cast<std::size_t>(i) % endings.size()];
        const std::string n = std::to_string(i);
        if (i % 7 == 0) stream += ": keep-alive " + n + end;
        std::string type = "message";
        if (i % 5 == 0) {
            type = "type-" + n;
            stream += "event:" + type + end;
        }
        if (i % 4 == 0) {
            id = "id " + n;
            stream += "id: " + id + end;
        }
        if (i % 11 == 0) {
            retry = std::chrono::milliseconds(i * 10);
            stream += "retry: " + std::to_string(i * 10) + end;
        }
        if (i % 13 == 0) stream += "unknown: field" + end;
        std::string data;
        for (int k = 0; k <= i % 3; ++k) {
            const std::string line = k == 1 ? ""
                                            : "line " + n + "." + std::to_string(k) +
                                                  " \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
            stream += (line.empty() ? "data" : "data: " + line) + end;
            data += (k == 0 ? "" : "\n") + line;
        }
        stream += end;
        expected.push_back({.event = type, .data = data, .id = id, .retry = retry});
    }
    stream += "data: never dispatched\r\n";
    return {stream, expected};
}

TEST(SseDecoderSample, ByteAtATimeMatchesWholeStream) {
    const auto [stream, expected] = long_sample();
    const Events whole = decode(stream);
    ASSERT_EQ(whole.size(), expected.size());
    EXPECT_EQ(whole, expected);
    EXPECT_EQ(decode(stream, 1), whole);
}

TEST(SseDecoderSample, AnyChunkingMatchesWholeStream) {
    const auto [stream, expected] = long_sample();
    for (const std::size_t piece : {2U, 3U, 5U, 7U, 64U, 4096U}) {
        EXPECT_EQ(decode(stream, piece), expected) << "pieces of " << piece;
    }
    std::mt19937 random(20240611); // fixed: a failure reproduces
    std::uniform_int_distribution<std::size_t> size(0, 40);
    for (int round = 0; round < 20; ++round) {
        SseDecoder decoder;
        Events events;
        for (std::size_t at = 0; at < stream.size();) {
            const std::size_t piece = size(random);
            decoder.feed(std::string_view(stream).substr(at, piece), events);
            at += piece;
        }
        decoder.finish();
        EXPECT_EQ(events, expected) << "round " << round;
    }
}

// --- SseDecoder: limits ------------------------------------------------------------------

TEST(SseDecoderLimits, LineAtTheLimitIsAccepted) {
    SseDecoder decoder(16);
    Events events;
    decoder.feed("data: 0123456789\r\n\r\n", events); // 16 bytes
    EXPECT_EQ(events, Events{message("0123456789")});
}

TEST(SseDecoderLimits, LongLineThrowsBeforeItEnds) {
    SseDecoder decoder(16);
    Events events;
    decoder.feed("data: 0123456789", events);
    expect_error([&] { decoder.feed("A", events); }, errc::body_too_large,
                 "decoding a server-sent event stream: a line exceeds "
                 "the maximum event size of 16 bytes");
    EXPECT_TRUE(events.empty());
}

TEST(SseDecoderLimits, LongLineInOneChunkThrows) {
    SseDecoder decoder(16);
    Events events;
    expect_error([&] { decoder.feed("data: a\n\nevent: 01234567890\n", events); },
                 errc::body_too_large, "a line exceeds the maximum event size of 16 bytes");
    EXPECT_EQ(events, Events{message("a")}) << "events before the long line are kept";
}

TEST(SseDecoderLimits, LongLineWithoutTerminatorThrows) {
    SseDecoder decoder(16);
    Events events;
    expect_error([&] { decoder.feed(std::string(1000, 'x'), events); }, errc::body_too_large,
                 "a line exceeds");
}

TEST(SseDecoderLimits, DataAtTheLimitIsAccepted) {
    SseDecoder decoder(16);
    Events events;
    decoder.feed("data: 01234567\ndata: 0123456\n\n", events); // 8 + LF + 7 = 16 bytes
    EXPECT_EQ(events, Events{message("01234567\n0123456")});
}

TEST(SseDecoderLimits, DataBeyondTheLimitThrows) {
    SseDecoder decoder(16);
    Events events;
    decoder.feed("data: 01234567\ndata: 0123456\n", events);
    expect_error([&] { decoder.feed("data\n", events); }, errc::body_too_large,
                 "decoding a server-sent event stream: an event's data exceeds the maximum "
                 "event size of 16 bytes");
}

TEST(SseDecoderLimits, ManyEmptyDataLinesCount) {
    SseDecoder decoder(16);
    Events events;
    std::string stream;
    for (int i = 0; i < 100; ++i) stream += "data\n";
    expect_error([&] { decoder.feed(stream, events); }, errc::body_too_large,
                 "an event's data exceeds");
}

TEST(SseDecoderLimits, CommentsAreNotLimited) {
    const std::string comment = ": " + std::string(1000, 'c');
    for (const std::size_t piece : {1U, 7U, 5000U}) {
        SseDecoder decoder(16);
        Events events;
        const std::string stream = comment + "\n" + comment + "\r\ndata: a\n\n";
        for (std::size_t at = 0; at < stream.size(); at += piece) {
            decoder.feed(std::string_view(stream).substr(at, piece), events);
        }
        EXPECT_EQ(events, Events{message("a")}) << "pieces of " << piece;
    }
}

TEST(SseDecoderLimits, IsAnExceptionOfTheTransportHierarchy) {
    SseDecoder decoder(4);
    Events events;
    try {
        decoder.feed("data: too long\n", events);
        ADD_FAILURE() << "no exception";
    } catch (const TransportError& e) {
        EXPECT_EQ(e.code(), errc::body_too_large);
        EXPECT_EQ(e.code(), condition::server);
    }
}

// --- ServerSentEvent ---------------------------------------------------------------------

TEST(ServerSentEvent, DefaultsAndEquality) {
    const ServerSentEvent e;
    EXPECT_EQ(e.event, "message");
    EXPECT_EQ(e.data, "");
    EXPECT_EQ(e.id, "");
    EXPECT_EQ(e.retry, std::nullopt);
    EXPECT_EQ(e, message(""));
    EXPECT_NE(e, (ServerSentEvent{.event = "other"}));
    EXPECT_NE(e, (ServerSentEvent{.id = "1"}));
    EXPECT_NE(e, (ServerSentEvent{.retry = 0ms}));
}

// --- LineSplitter ------------------------------------------------------------------------

// The lines of `stream` fed in pieces of `piece` bytes (whole when 0), finish() included.
Lines split(std::string_view stream, std::size_t piece = 0) {
    LineSplitter splitter;
    Lines lines;
    if (piece == 0) piece = std::max<std::size_t>(stream.size(), 1);
    for (std::size_t at = 0; at < stream.size(); at += piece) {
        splitter.feed(stream.substr(at, piece), lines);
    }
    if (auto last = splitter.finish()) lines.push_back(std::move(*last));
    return lines;
}

void expect_lines(std::string_view stream, const Lines& expected) {
    EXPECT_EQ(split(stream), expected) << "whole";
    EXPECT_EQ(split(stream, 1), expected) << "one byte at a time";
    for (std::size_t at = 0; at <= stream.size(); ++at) {
        LineSplitter splitter;
        Lines lines;
        splitter.feed(stream.substr(0, at), lines);
        splitter.feed(stream.substr(at), lines);
        if (auto last = splitter.finish()) lines.push_back(std::move(*last));
        EXPECT_EQ(lines, expected) << "split at " << at;
        if (lines != expected) break;
    }
}

TEST(LineSplitter, SplitsOnLfAndCrLf) {
    expect_lines("a\nb\r\nc\n", {"a", "b", "c"});
    expect_lines("\n\r\n\n", {"", "", ""});
    expect_lines("", {});
    expect_lines("{\"k\": 1}\r\n{\"k\": 2}\r\n", {"{\"k\": 1}", "{\"k\": 2}"});
}

TEST(LineSplitter, LoneCrIsData) {
    expect_lines("a\rb\nc\r\r\nd\n", {"a\rb", "c\r", "d"});
    expect_lines("\r\r\n", {"\r"});
    expect_lines("a\r", {"a\r"}); // a final CR ends no CRLF
}

TEST(LineSplitter, CrLfSplitAcrossChunks) {
    LineSplitter splitter;
    Lines lines;
    splitter.feed("first\r", lines);
    EXPECT_TRUE(lines.empty());
    EXPECT_EQ(splitter.buffered(), 6U);
    splitter.feed("\nsecond\r", lines);
    splitter.feed("x\n", lines);
    EXPECT_EQ(lines, (Lines{"first", "second\rx"}));
    EXPECT_EQ(splitter.buffered(), 0U);
}

TEST(LineSplitter, FinishReturnsTheUnterminatedLastLine) {
    LineSplitter splitter;
    Lines lines;
    EXPECT_EQ(splitter.finish(), std::nullopt);
    splitter.feed("a\nlast", lines);
    EXPECT_EQ(splitter.buffered(), 4U);
    EXPECT_EQ(splitter.finish(), "last");
    EXPECT_EQ(splitter.buffered(), 0U);
    EXPECT_EQ(splitter.finish(), std::nullopt) << "finish() empties the splitter";
    splitter.feed("b\n", lines);
    EXPECT_EQ(splitter.finish(), std::nullopt) << "nothing after the last terminator";
    EXPECT_EQ(lines, (Lines{"a", "b"})) << "the splitter is reusable after finish()";
}

TEST(LineSplitter, LinesAreAppended) {
    LineSplitter splitter;
    Lines lines{"kept"};
    splitter.feed("new\n", lines);
    EXPECT_EQ(lines, (Lines{"kept", "new"}));
}

TEST(LineSplitter, BytesArePassedThrough) {
    const std::string binary = "\0\xFF\xEF\xBB\xBF\x80"s;
    expect_lines(binary + "\n" + binary, {binary, binary});
}

TEST(LineSplitter, LongSampleInAnyChunking) {
    std::string stream;
    Lines expected;
    for (int i = 0; i < 500; ++i) {
        std::string line =
            "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 17), '.');
        if (i % 9 == 0) line += "\rinner CR";
        if (i % 10 == 0) line.clear();
        stream += line + (i % 2 == 0 ? "\n" : "\r\n");
        expected.push_back(line);
    }
    for (const std::size_t piece : {0U, 1U, 2U, 3U, 7U, 100U}) {
        EXPECT_EQ(split(stream, piece), expected) << "pieces of " << piece;
    }
}

TEST(LineSplitter, LineAtTheLimitIsAccepted) {
    LineSplitter splitter(4);
    Lines lines;
    splitter.feed("abcd\nabcd\r", lines);
    EXPECT_EQ(splitter.buffered(), 5U) << "the CR may start a CRLF: it does not count yet";
    splitter.feed("\n", lines);
    EXPECT_EQ(lines, (Lines{"abcd", "abcd"}));
    splitter.feed("abcd", lines);
    EXPECT_EQ(splitter.finish(), "abcd");
}

TEST(LineSplitter, LongLineThrowsBeforeItEnds) {
    LineSplitter splitter(4);
    Lines lines;
    splitter.feed("ok\nabc", lines);
    expect_error([&] { splitter.feed("de", lines); }, errc::body_too_large,
                 "splitting a response body into lines: a line exceeds the maximum line length "
                 "of 4 bytes");
    EXPECT_EQ(lines, Lines{"ok"});
}

TEST(LineSplitter, LongLineInOneChunkThrows) {
    LineSplitter splitter(4);
    Lines lines;
    expect_error([&] { splitter.feed("abcde\n", lines); }, errc::body_too_large,
                 "maximum line length of 4 bytes");
    LineSplitter unterminated(4);
    expect_error([&] { unterminated.feed(std::string(1000, 'x'), lines); }, errc::body_too_large,
                 "a line exceeds");
}

TEST(LineSplitter, CrThatStartsNoCrLfCountsTowardsTheLimit) {
    LineSplitter splitter(4);
    Lines lines;
    splitter.feed("abcd\r", lines);
    expect_error([&] { splitter.feed("x", lines); }, errc::body_too_large, "a line exceeds");

    LineSplitter at_end(4);
    at_end.feed("abcd\r", lines);
    expect_error([&] { (void)at_end.finish(); }, errc::body_too_large, "a line exceeds");

    LineSplitter inside(4);
    expect_error([&] { inside.feed("abc\rd\n", lines); }, errc::body_too_large, "a line exceeds");
}

} // namespace
} // namespace nector::http
