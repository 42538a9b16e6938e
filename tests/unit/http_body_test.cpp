// Internal: the tests reach src/ by path, as the test target does not see its includes.
#include "http/message/body.hpp"

#include "nector/transport/errors.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <thread>

namespace nector::http::detail {
namespace json = boost::json;
namespace {

using namespace std::string_literals;

constexpr std::string_view boundary = "BOUNDARY";

// What `f` throws: an exception of class E with code `code` and `fragment` in its message.
template <class E, class F>
std::string expect_error(F&& f, errc code, std::string_view fragment) {
    try {
        f();
    } catch (const E& e) {
        EXPECT_EQ(e.code(), code);
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected an exception with \"" << fragment << "\"";
    return {};
}

// ---- encode_body ----------------------------------------------------------------------------

TEST(HttpBody, NoBodySourceMeansNoBody) {
    EXPECT_FALSE(encode_body(HttpMessage{}, boundary).has_value());
    EXPECT_FALSE(encode_body(HttpMessage{.method = "POST",
                                         .headers = {{"Content-Type", "x/y"}},
                                         .params = {{"a", "1"}}},
                             boundary)
                     .has_value());
}

TEST(HttpBody, JsonIsApplicationJson) {
    const auto body =
        encode_body(HttpMessage{.json = json::parse(R"({"a":[1,"ü",null],"b":{}})")}, boundary);
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(body->content_type, "application/json");
    EXPECT_EQ(body->data, R"({"a":[1,"ü",null],"b":{}})");
    const auto null_body = encode_body(HttpMessage{.json = nullptr}, boundary);
    ASSERT_TRUE(null_body.has_value());
    EXPECT_EQ(null_body->data, "null");
}

TEST(HttpBody, ContentIsRawWithoutContentType) {
    const auto body = encode_body(HttpMessage{.content = to_bytes("\0\xFF raw"s)}, boundary);
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(body->content_type, "");
    EXPECT_EQ(body->data, "\0\xFF raw"s);
    // An engaged empty content is an empty body, not no body.
    const auto empty = encode_body(HttpMessage{.content = Bytes{}}, boundary);
    ASSERT_TRUE(empty.has_value());
    EXPECT_EQ(empty->data, "");
}

TEST(HttpBody, FormIsUrlencoded) {
    const auto body = encode_body(
        HttpMessage{.form = {{"a", "1"}, {"a", "2"}, {"b", "x y"}, {"k&=+", "ü~*/"}, {"", ""}}},
        boundary);
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(body->content_type, "application/x-www-form-urlencoded");
    EXPECT_EQ(body->data, "a=1&a=2&b=x+y&k%26%3D%2B=%C3%BC~%2A%2F&=");
}

TEST(HttpBody, MultipartHasFieldsThenFiles) {
    const HttpMessage m{.method = "POST",
                        .url = "/upload",
                        .form = {{"a", "1"}, {"q\"x\r\ny", "v\r\nw"}},
                        .files = {File{.field = "file",
                                       .filename = "a\".txt",
                                       .content_type = "text/plain",
                                       .content = to_bytes("hello\0world"s)},
                                  File{.field = "raw", .filename = "", .content_type = ""}}};
    const auto body = encode_body(m, boundary);
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(body->content_type, "multipart/form-data; boundary=BOUNDARY");
    EXPECT_EQ(body->data,
              "--BOUNDARY\r\n"
              "Content-Disposition: form-data; name=\"a\"\r\n"
              "\r\n"
              "1\r\n"
              "--BOUNDARY\r\n"
              "Content-Disposition: form-data; name=\"q%22x%0D%0Ay\"\r\n"
              "\r\n"
              "v\r\nw\r\n"
              "--BOUNDARY\r\n"
              "Content-Disposition: form-data; name=\"file\"; filename=\"a%22.txt\"\r\n"
              "Content-Type: text/plain\r\n"
              "\r\n"
              "hello\0world\r\n"
              "--BOUNDARY\r\n"
              "Content-Disposition: form-data; name=\"raw\"; filename=\"\"\r\n"
              "\r\n"
              "\r\n"
              "--BOUNDARY--\r\n"s);
}

TEST(HttpBody, FilesWithoutFormAreMultipart) {
    const auto body =
        encode_body(HttpMessage{.files = {File{.field = "f", .filename = "ü.bin"}}}, "b");
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(body->content_type, "multipart/form-data; boundary=b");
    EXPECT_EQ(body->data,
              "--b\r\n"
              "Content-Disposition: form-data; name=\"f\"; filename=\"ü.bin\"\r\n"
              "Content-Type: application/octet-stream\r\n"
              "\r\n"
              "\r\n"
              "--b--\r\n");
}

// A directory of its own for each test, removed afterwards.
class HttpBodyFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("nector-http-body-" + make_boundary());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::filesystem::path write(const std::string& name, const std::string& bytes) {
        const auto path = dir_ / name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    std::filesystem::path dir_;
};

TEST_F(HttpBodyFiles, PathIsReadAtEncodeTime) {
    std::string big(200'000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 251);
    const auto small = write("small.txt", "on disk\0\r\n"s);
    const auto large = write("large.bin", big);
    const HttpMessage m{.files = {File{.field = "a", .content_type = "text/plain", .path = small},
                                  File{.field = "b",
                                       .filename = "given.bin",
                                       .content = to_bytes("ignored"),
                                       .path = large}}};
    const auto body = encode_body(m, boundary);
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(body->data,
              "--BOUNDARY\r\n"
              "Content-Disposition: form-data; name=\"a\"; filename=\"small.txt\"\r\n"
              "Content-Type: text/plain\r\n"
              "\r\n"
              "on disk\0\r\n\r\n"
              "--BOUNDARY\r\n"
              "Content-Disposition: form-data; name=\"b\"; filename=\"given.bin\"\r\n"
              "Content-Type: application/octet-stream\r\n"
              "\r\n"s +
                  big +
                  "\r\n"
                  "--BOUNDARY--\r\n");
}

TEST_F(HttpBodyFiles, EmptyFileIsAnEmptyPart) {
    const auto empty = write("empty", "");
    const auto body = encode_body(HttpMessage{.files = {File{.field = "e", .path = empty}}}, "b");
    ASSERT_TRUE(body.has_value());
    EXPECT_NE(body->data.find("filename=\"empty\"\r\nContent-Type: application/octet-stream\r\n"
                              "\r\n\r\n--b--\r\n"),
              std::string::npos)
        << body->data;
}

TEST_F(HttpBodyFiles, MissingFileNamesThePath) {
    const auto missing = dir_ / "no such\nfile";
    const HttpMessage m{.method = "POST",
                        .url = "https://user:secret@example.com/up?x=1",
                        .files = {File{}, File{.field = "f", .path = missing}}};
    const std::string what = expect_error<SerializationError>(
        [&] { (void)encode_body(m, boundary); }, errc::serialization_failed,
        "cannot open files[1] path \"" + (dir_ / "no such\\nfile").string() +
            "\": No such file or directory");
    EXPECT_NE(what.find("encoding the request body of POST https://example.com/up?x=1: "),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("secret"), std::string::npos);
}

TEST_F(HttpBodyFiles, DirectoryCannotBeRead) {
    const HttpMessage m{.files = {File{.field = "f", .path = dir_}}};
    expect_error<SerializationError>([&] { (void)encode_body(m, boundary); },
                                     errc::serialization_failed, "files[0] path \"");
    expect_error<SerializationError>([&] { (void)encode_body(m, boundary); },
                                     errc::serialization_failed, "Is a directory");
}

struct BadBody {
    const char* name;
    HttpMessage message;
    const char* reason; // a fragment the error message must contain
};

class HttpBodyUnencodable : public ::testing::TestWithParam<BadBody> {};

TEST_P(HttpBodyUnencodable, ThrowsSerializationError) {
    const auto& c = GetParam();
    const std::string what = expect_error<SerializationError>(
        [&] { (void)encode_body(c.message, boundary); }, errc::serialization_failed, c.reason);
    EXPECT_NE(what.find("encoding the request body of PATCH /r: "), std::string::npos) << what;
}

HttpMessage patch(HttpMessage m) {
    m.method = "PATCH";
    m.url = "/r";
    return m;
}

INSTANTIATE_TEST_SUITE_P(
    HttpBody, HttpBodyUnencodable,
    ::testing::Values(
        BadBody{"json_and_content", patch({.json = 1, .content = Bytes{}}),
                "more than one body source is set (json and content); set at most one of json, "
                "content, content_path, producer, or form/files"},
        BadBody{"json_and_form", patch({.json = nullptr, .form = {{"a", "1"}}}),
                "more than one body source is set (json and form)"},
        BadBody{"content_and_files", patch({.files = {File{}}, .content = to_bytes("x")}),
                "(content and files)"},
        BadBody{"all_three",
                patch({.json = 1, .form = {{"a", "1"}}, .files = {File{}}, .content = Bytes{}}),
                "(json, content and form/files)"},
        BadBody{"json_nan", patch({.json = json::array{std::numeric_limits<double>::quiet_NaN()}}),
                "json[0] is NaN or infinite"},
        BadBody{"json_infinity",
                patch({.json = json::object{{"x", -std::numeric_limits<double>::infinity()}}}),
                "json.x is NaN or infinite"},
        BadBody{"json_bad_utf8", patch({.json = json::object{{"k", "\xC3"}}}),
                "json.k is not valid UTF-8"},
        BadBody{"content_type_crlf",
                patch({.files = {File{.content_type = "text/plain\r\nX-Evil: 1"}}}),
                "files[0].content_type contains CR at byte 10"},
        BadBody{"content_type_nul", patch({.files = {File{}, File{.content_type = "a\0b"s}}}),
                "files[1].content_type contains NUL at byte 1"},
        BadBody{"boundary_in_file",
                patch({.files = {File{.content = to_bytes("x\r\n--BOUNDARY--\r\n")}}}),
                "files[0] content contains the multipart boundary \"BOUNDARY\""},
        BadBody{"boundary_in_field", patch({.form = {{"a", "--BOUNDARY"}}, .files = {File{}}}),
                "form[0] value contains the multipart boundary"}),
    [](const auto& p) { return std::string(p.param.name); });

// ---- make_boundary --------------------------------------------------------------------------

TEST(HttpBody, BoundariesAreRandomAlphanumerics) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string b = make_boundary();
        ASSERT_EQ(b.size(), 39u);
        ASSERT_TRUE(b.starts_with("nector-")) << b;
        for (const char c : b.substr(7)) {
            ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
                << b;
        }
        seen.insert(b);
    }
    EXPECT_EQ(seen.size(), 1000u);
    std::string other;
    std::thread([&] { other = make_boundary(); }).join();
    EXPECT_EQ(seen.count(other), 0u);
}

// ---- encode_query and append_query ----------------------------------------------------------

TEST(HttpBody, QueryEncodesEveryByte) {
    for (int i = 0; i < 256; ++i) {
        const char c = static_cast<char>(i);
        const std::string got = encode_query({{std::string(1, c), ""}});
        const bool unreserved = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                                (c >= 'a' && c <= 'z') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        std::string want;
        if (unreserved) {
            want = std::string(1, c);
        } else if (c == ' ') {
            want = "+";
        } else {
            constexpr std::string_view hex = "0123456789ABCDEF";
            want = {'%', hex[static_cast<std::size_t>(i >> 4)],
                    hex[static_cast<std::size_t>(i & 15)]};
        }
        EXPECT_EQ(got, want + "=") << "byte " << i;
    }
}

TEST(HttpBody, QueryKeepsOrderAndRepeats) {
    EXPECT_EQ(encode_query({}), "");
    EXPECT_EQ(encode_query({{"a", "1"}, {"a", "2"}, {"b", "x y"}}), "a=1&a=2&b=x+y");
    EXPECT_EQ(encode_query({{"", ""}, {"q", "a&b=c#d"}}), "=&q=a%26b%3Dc%23d");
}

struct QueryCase {
    const char* name;
    std::string url;
    Fields params;
    std::string expected;
};

class HttpBodyAppendQuery : public ::testing::TestWithParam<QueryCase> {};

TEST_P(HttpBodyAppendQuery, AppendsAndDropsTheFragment) {
    EXPECT_EQ(append_query(GetParam().url, GetParam().params), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    HttpBody, HttpBodyAppendQuery,
    ::testing::Values(QueryCase{"no_query", "/x", {{"a", "1"}}, "/x?a=1"},
                      QueryCase{"empty_url", "", {{"a", "1"}}, "?a=1"},
                      QueryCase{"empty_query", "/x?", {{"a", "1"}}, "/x?a=1"},
                      QueryCase{"query", "/x?b=2", {{"a", "1"}, {"c", "3"}}, "/x?b=2&a=1&c=3"},
                      QueryCase{"query_ending_amp", "/x?b=2&", {{"a", "1"}}, "/x?b=2&a=1"},
                      QueryCase{"fragment", "http://h/x#top", {{"a", "1"}}, "http://h/x?a=1"},
                      QueryCase{"query_fragment", "/x?b#f", {{"a", " "}}, "/x?b&a=+"},
                      QueryCase{"question_in_fragment", "/x#f?g", {{"a", "1"}}, "/x?a=1"},
                      QueryCase{"no_params", "http://h/x?q=1", {}, "http://h/x?q=1"},
                      QueryCase{"no_params_fragment", "/x?q#frag", {}, "/x?q"},
                      QueryCase{"only_fragment", "#f", {{"a", "1"}}, "?a=1"}),
    [](const auto& p) { return std::string(p.param.name); });

// ---- validate_method and validate_header ----------------------------------------------------

TEST(HttpBody, ValidMethodsAndHeadersPass) {
    for (const char* method : {"GET", "POST", "M-SEARCH", "get", "!#$%&'*+-.^_`|~09azAZ"}) {
        EXPECT_NO_THROW(validate_method(method)) << method;
    }
    EXPECT_NO_THROW(validate_header("X-Id", "7"));
    EXPECT_NO_THROW(validate_header("Empty", ""));
    EXPECT_NO_THROW(validate_header("Tab", "a\tb"));
    EXPECT_NO_THROW(validate_header("Obs-Text", "caf\xE9 \xFF"));
    EXPECT_NO_THROW(validate_header("!#$%&'*+-.^_`|~", " spaced "));
}

struct BadToken {
    const char* name;
    std::string method_or_name;
    std::string value;
    const char* reason; // a fragment the error message must contain
};

class HttpBodyBadMethod : public ::testing::TestWithParam<BadToken> {};

TEST_P(HttpBodyBadMethod, ThrowsInvalidMethod) {
    const auto& c = GetParam();
    try {
        validate_method(c.method_or_name);
        FAIL() << "accepted " << c.name;
    } catch (const TransportSpecificError& e) {
        const std::string what = e.what();
        EXPECT_EQ(e.code(), errc::invalid_method);
        EXPECT_NE(what.find(c.reason), std::string::npos) << what;
        EXPECT_NE(what.find("a method must be a non-empty token (RFC 9110)"), std::string::npos);
        EXPECT_EQ(what.find_first_of("\r\n"s + '\0'), std::string::npos) << what;
    }
}

INSTANTIATE_TEST_SUITE_P(HttpBody, HttpBodyBadMethod,
                         ::testing::Values(BadToken{"empty", "", "", "invalid HTTP method \"\""},
                                           BadToken{"space", "GET ", "", "\"GET \""},
                                           BadToken{"inner_space", "G ET", "", "\"G ET\""},
                                           BadToken{"crlf", "GET\r\nX: y", "", "\"GET\\r\\nX: y\""},
                                           BadToken{"nul", "GET\0"s, "", "\"GET\\x00\""},
                                           BadToken{"parens", "(GET)", "", "\"(GET)\""},
                                           BadToken{"slash", "GET/1", "", "\"GET/1\""},
                                           BadToken{"quote", "G\"T", "", "\"G\\\"T\""},
                                           BadToken{"non_ascii", "G\xC3\x89T", "",
                                                    "\"G\\xC3\\x89T\""},
                                           BadToken{"del", "GET\x7F", "", "\"GET\\x7F\""}),
                         [](const auto& p) { return std::string(p.param.name); });

class HttpBodyBadHeader : public ::testing::TestWithParam<BadToken> {};

TEST_P(HttpBodyBadHeader, ThrowsInvalidHeader) {
    const auto& c = GetParam();
    try {
        validate_header(c.method_or_name, c.value);
        FAIL() << "accepted " << c.name;
    } catch (const TransportSpecificError& e) {
        const std::string what = e.what();
        EXPECT_EQ(e.code(), errc::invalid_header);
        EXPECT_NE(what.find(c.reason), std::string::npos) << what;
        EXPECT_EQ(what.find_first_of("\r\n"s + '\0'), std::string::npos) << what;
        if (c.value.size() > 2) {
            EXPECT_EQ(what.find(c.value), std::string::npos) << what; // may be a secret
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    HttpBody, HttpBodyBadHeader,
    ::testing::Values(
        BadToken{"empty_name", "", "v",
                 "invalid HTTP header \"\": a header name must be a non-empty token (RFC 9110)"},
        BadToken{"space_in_name", "X Id", "v", "\"X Id\": a header name must be"},
        BadToken{"colon_in_name", "X:Id", "v", "\"X:Id\": a header name must be"},
        BadToken{"crlf_in_name", "X\r\nInjected: 1", "v",
                 "\"X\\r\\nInjected: 1\": a header name must be"},
        BadToken{"non_ascii_name", "Caf\xC3\xA9", "v", "\"Caf\\xC3\\xA9\""},
        BadToken{"cr_in_value", "X-Id", "secret\rvalue",
                 "invalid HTTP header \"X-Id\": its value contains CR at byte 6"},
        BadToken{"lf_in_value", "X-Id", "secret\nvalue", "its value contains LF at byte 6"},
        BadToken{"crlf_in_value", "X-Id", "a\r\nSet-Cookie: x", "its value contains CR at byte 1"},
        BadToken{"nul_in_value", "X-Id", "secret\0value"s, "its value contains NUL at byte 6"},
        BadToken{"control_in_value", "X-Id", "secret\x01value",
                 "its value contains control character \\x01 at byte 6"},
        BadToken{"del_in_value", "X-Id", "secret\x7Fvalue",
                 "its value contains control character \\x7F at byte 6"},
        BadToken{"escape_in_value", "X-Id", "\x1B[31m", "control character \\x1B at byte 0"}),
    [](const auto& p) { return std::string(p.param.name); });

// ---- message helpers ------------------------------------------------------------------------

TEST(HttpBody, PrintableEscapesAndTruncates) {
    EXPECT_EQ(printable("GET /x"), "GET /x");
    EXPECT_EQ(printable("a\"b\\c\r\n\t\x01\x7F\xC3\xA9"s + '\0'),
              "a\\\"b\\\\c\\r\\n\\t\\x01\\x7F\\xC3\\xA9\\x00");
    EXPECT_EQ(printable(std::string(100, 'a')), std::string(100, 'a'));
    EXPECT_EQ(printable(std::string(101, 'a')), std::string(100, 'a') + "...");
}

} // namespace
} // namespace nector::http::detail
