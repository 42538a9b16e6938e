// Internal: the tests reach src/ by path, as the test target does not see its includes.
#include "http/codec/decode.hpp"

#include "nector/transport/errors.hpp"

#include <gtest/gtest.h>

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace nector::http::detail {
namespace {

using namespace std::string_literals;

constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;

// ---- Encoders: the real compressors, streaming, so that large inputs need no large buffer --

enum class Flush { more, end };

class Encoder {
public:
    virtual ~Encoder() = default;
    /// Compresses `input` and appends what the compressor writes to `out`; Flush::end ends
    /// the stream.
    virtual void write(std::string_view input, std::string& out, Flush flush) = 0;
};

class ZlibEncoder final : public Encoder {
public:
    /// `window_bits`: 15 + 16 gzip, 15 zlib, -15 raw deflate (deflateInit2's convention).
    explicit ZlibEncoder(int window_bits, int level = Z_DEFAULT_COMPRESSION) {
        if (deflateInit2(&z_, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            throw std::runtime_error("deflateInit2 failed");
        }
    }
    ~ZlibEncoder() override { deflateEnd(&z_); }

    void write(std::string_view input, std::string& out, Flush flush) override {
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        z_.avail_in = static_cast<uInt>(input.size());
        const int mode = flush == Flush::end ? Z_FINISH : Z_NO_FLUSH;
        std::array<unsigned char, 64 * kib> buffer{};
        do {
            z_.next_out = buffer.data();
            z_.avail_out = static_cast<uInt>(buffer.size());
            if (deflate(&z_, mode) == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
            out.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - z_.avail_out);
        } while (z_.avail_out == 0);
    }

private:
    z_stream z_{};
};

class BrotliEncoder final : public Encoder {
public:
    explicit BrotliEncoder(std::uint32_t quality = 5)
        : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
        if (state_ == nullptr) throw std::bad_alloc();
        BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, quality);
    }
    ~BrotliEncoder() override { BrotliEncoderDestroyInstance(state_); }

    void write(std::string_view input, std::string& out, Flush flush) override {
        const auto op = flush == Flush::end ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS;
        std::size_t avail_in = input.size();
        const auto* next_in = reinterpret_cast<const std::uint8_t*>(input.data());
        std::array<std::uint8_t, 64 * kib> buffer{};
        for (;;) {
            std::size_t avail_out = buffer.size();
            std::uint8_t* next_out = buffer.data();
            if (BrotliEncoderCompressStream(state_, op, &avail_in, &next_in, &avail_out, &next_out,
                                            nullptr) == BROTLI_FALSE) {
                throw std::runtime_error("BrotliEncoderCompressStream failed");
            }
            out.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - avail_out);
            if (avail_in == 0 && BrotliEncoderHasMoreOutput(state_) == BROTLI_FALSE &&
                (flush == Flush::more || BrotliEncoderIsFinished(state_) == BROTLI_TRUE)) {
                return;
            }
        }
    }

private:
    BrotliEncoderState* state_;
};

class ZstdEncoder final : public Encoder {
public:
    /// `window_log`: the window the frame header declares (0: the level's default).
    explicit ZstdEncoder(int level = 3, int window_log = 0) : cctx_(ZSTD_createCCtx()) {
        if (cctx_ == nullptr) throw std::bad_alloc();
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
        if (window_log != 0) ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, window_log);
    }
    ~ZstdEncoder() override { ZSTD_freeCCtx(cctx_); }

    void write(std::string_view input, std::string& out, Flush flush) override {
        ZSTD_inBuffer in{input.data(), input.size(), 0};
        const auto mode = flush == Flush::end ? ZSTD_e_end : ZSTD_e_continue;
        std::array<char, 64 * kib> buffer{};
        for (;;) {
            ZSTD_outBuffer o{buffer.data(), buffer.size(), 0};
            const std::size_t left = ZSTD_compressStream2(cctx_, &o, &in, mode);
            if (ZSTD_isError(left) != 0) throw std::runtime_error(ZSTD_getErrorName(left));
            out.append(buffer.data(), o.pos);
            if (flush == Flush::end ? left == 0 : in.pos == in.size) return;
        }
    }

private:
    ZSTD_CCtx* cctx_;
};

using EncoderFactory = std::function<std::unique_ptr<Encoder>()>;

std::unique_ptr<Encoder> gzip_encoder() { return std::make_unique<ZlibEncoder>(15 + 16); }
std::unique_ptr<Encoder> zlib_encoder() { return std::make_unique<ZlibEncoder>(15); }
std::unique_ptr<Encoder> raw_deflate_encoder() { return std::make_unique<ZlibEncoder>(-15); }
std::unique_ptr<Encoder> brotli_encoder() { return std::make_unique<BrotliEncoder>(); }
std::unique_ptr<Encoder> zstd_encoder() { return std::make_unique<ZstdEncoder>(); }

std::string compress(const EncoderFactory& factory, std::string_view data) {
    std::string out;
    factory()->write(data, out, Flush::end);
    return out;
}

// A Content-Encoding value and how a server would encode a body for it.
struct Coding {
    std::string label; ///< test name suffix
    std::string value; ///< the Content-Encoding value
    std::string name;  ///< the coding as error messages name it
    EncoderFactory encoder;
};

const std::vector<Coding>& codings() {
    static const std::vector<Coding> all = {
        {"gzip", "gzip", "gzip", gzip_encoder},
        {"xgzip", "x-gzip", "x-gzip", gzip_encoder},
        {"deflate_zlib", "deflate", "deflate", zlib_encoder},
        {"deflate_raw", "deflate", "deflate", raw_deflate_encoder},
        {"br", "br", "br", brotli_encoder},
        {"zstd", "zstd", "zstd", zstd_encoder},
    };
    return all;
}

// ---- Bodies and decoding --------------------------------------------------------------------

std::string random_bytes(std::size_t size) {
    std::mt19937 engine(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(byte(engine));
    return out;
}

std::string compressible(std::size_t size) {
    std::string out;
    for (int line = 0; out.size() < size; ++line) {
        out += "line " + std::to_string(line) + ": nector decodes gzip, deflate, br and zstd\n";
    }
    out.resize(size);
    return out;
}

struct Body {
    std::string label;
    std::string data;
};

const std::vector<Body>& bodies() {
    static const std::vector<Body> all = {
        {"empty", ""},
        {"one_byte", "x"},
        {"random_100k", random_bytes(100 * kib)},
        {"compressible_100k", compressible(100 * kib)},
    };
    return all;
}

// Decodes `input` for `content_encoding`, fed in pieces of `piece` bytes, and checks that
// decoded_size() agrees with the output.
std::string decode(std::string_view content_encoding, std::string_view input,
                   std::size_t piece = no_limit, std::size_t max_decoded = no_limit) {
    const auto decoder = ContentDecoder::make(content_encoding, max_decoded);
    if (!decoder) {
        ADD_FAILURE() << "no decoder for \"" << content_encoding << "\"";
        return {};
    }
    std::string out;
    for (std::size_t at = 0; at < input.size(); at += piece) {
        decoder->feed(input.substr(at, piece), out);
    }
    decoder->finish(out);
    EXPECT_EQ(decoder->decoded_size(), out.size());
    return out;
}

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

// ---- Round trips ----------------------------------------------------------------------------

class RoundTrip : public ::testing::TestWithParam<std::tuple<std::size_t, std::size_t>> {
protected:
    const Coding& coding() const { return codings()[std::get<0>(GetParam())]; }
    const Body& body() const { return bodies()[std::get<1>(GetParam())]; }
};

TEST_P(RoundTrip, InOnePiece) {
    const std::string encoded = compress(coding().encoder, body().data);
    EXPECT_EQ(decode(coding().value, encoded), body().data);
}

TEST_P(RoundTrip, OneByteAtATime) {
    const std::string encoded = compress(coding().encoder, body().data);
    EXPECT_EQ(decode(coding().value, encoded, 1), body().data);
}

TEST_P(RoundTrip, InOddPieces) {
    const std::string encoded = compress(coding().encoder, body().data);
    EXPECT_EQ(decode(coding().value, encoded, 4093), body().data);
}

// The decoded size may equal the limit; one byte more is too large.
TEST_P(RoundTrip, LimitIsInclusive) {
    const std::string& data = body().data;
    const std::string encoded = compress(coding().encoder, data);
    EXPECT_EQ(decode(coding().value, encoded, no_limit, data.size()), data);
    if (data.empty()) return;
    std::string out;
    const auto decoder = ContentDecoder::make(coding().value, data.size() - 1);
    expect_error(
        [&] {
            decoder->feed(encoded, out);
            decoder->finish(out);
        },
        errc::body_too_large, "exceeds the limit of " + std::to_string(data.size() - 1));
    EXPECT_LE(out.size(), data.size() - 1);
    EXPECT_EQ(decoder->decoded_size(), out.size());
}

// Truncated anywhere, the stream is incomplete at finish().
TEST_P(RoundTrip, TruncatedFailsAtFinish) {
    const std::string encoded = compress(coding().encoder, body().data);
    for (const std::size_t cut : {std::size_t{1}, encoded.size() / 2, encoded.size() - 1}) {
        if (cut == 0 || cut >= encoded.size()) continue; // e.g. br's empty stream is one byte
        SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(encoded.size()));
        const auto decoder = ContentDecoder::make(coding().value, no_limit);
        std::string out;
        decoder->feed(std::string_view(encoded).substr(0, cut), out);
        expect_error([&] { decoder->finish(out); }, errc::protocol_error,
                     "the " + coding().name + " stream is truncated");
        // Whatever was decoded is a prefix of the body.
        EXPECT_EQ(out, body().data.substr(0, out.size()));
    }
}

std::string round_trip_name(
    const ::testing::TestParamInfo<std::tuple<std::size_t, std::size_t>>& info) {
    return codings()[std::get<0>(info.param)].label + "_" + bodies()[std::get<1>(info.param)].label;
}

INSTANTIATE_TEST_SUITE_P(HttpDecode, RoundTrip,
                         ::testing::Combine(::testing::Range<std::size_t>(0, 6),
                                            ::testing::Range<std::size_t>(0, 4)),
                         round_trip_name);

// ---- Per coding -----------------------------------------------------------------------------

class PerCoding : public ::testing::TestWithParam<std::size_t> {
protected:
    const Coding& coding() const { return codings()[GetParam()]; }
};

// A HEAD response or a 204 keeps Content-Encoding but has no body at all.
TEST_P(PerCoding, NoBodyAtAllDecodesToNothing) {
    const auto decoder = ContentDecoder::make(coding().value, no_limit);
    ASSERT_NE(decoder, nullptr);
    std::string out;
    decoder->finish(out);
    EXPECT_EQ(out, "");
    EXPECT_EQ(decoder->decoded_size(), 0U);

    const auto fed_nothing = ContentDecoder::make(coding().value, no_limit);
    fed_nothing->feed("", out);
    fed_nothing->finish(out);
    EXPECT_EQ(out, "");
}

TEST_P(PerCoding, DataAfterTheStreamIsRejected) {
    const std::string encoded = compress(coding().encoder, "hello");
    const std::string message = "unexpected data after the end of the " + coding().name + " stream";
    // In the same piece as the end of the stream.
    {
        const auto decoder = ContentDecoder::make(coding().value, no_limit);
        std::string out;
        expect_error([&] { decoder->feed(encoded + "garbage!", out); }, errc::protocol_error,
                     message);
    }
    // In a later piece.
    {
        const auto decoder = ContentDecoder::make(coding().value, no_limit);
        std::string out;
        decoder->feed(encoded, out);
        EXPECT_EQ(out, "hello");
        expect_error([&] { decoder->feed("garbage!", out); }, errc::protocol_error, message);
    }
}

TEST_P(PerCoding, GarbageIsCorrupt) {
    const std::string garbage(64, '\xFF');
    const auto decoder = ContentDecoder::make(coding().value, no_limit);
    std::string out;
    const std::string what = expect_error(
        [&] {
            decoder->feed(garbage, out);
            decoder->finish(out);
        },
        errc::protocol_error, "corrupt " + coding().name + " data (");
    EXPECT_NE(what.find("decoding the response body (Content-Encoding \"" + coding().value + "\")"),
              std::string::npos)
        << what;
}

TEST_P(PerCoding, ErrorsAreSticky) {
    const auto decoder = ContentDecoder::make(coding().value, no_limit);
    std::string out;
    const std::string first = expect_error([&] { decoder->feed(std::string(64, '\xFF'), out); },
                                           errc::protocol_error, coding().name);
    // Even valid input now fails the same way: the library's state is not trusted again.
    const std::string valid = compress(coding().encoder, "hello");
    EXPECT_EQ(expect_error([&] { decoder->feed(valid, out); }, errc::protocol_error, ""), first);
    EXPECT_EQ(expect_error([&] { decoder->finish(out); }, errc::protocol_error, ""), first);
}

TEST_P(PerCoding, FeedAfterFinishIsALogicError) {
    const auto decoder = ContentDecoder::make(coding().value, no_limit);
    std::string out;
    decoder->feed(compress(coding().encoder, "hello"), out);
    decoder->finish(out);
    decoder->finish(out); // a second finish does nothing
    EXPECT_EQ(out, "hello");
    EXPECT_THROW(decoder->feed("x", out), std::logic_error);
}

std::string coding_name(const ::testing::TestParamInfo<std::size_t>& info) {
    return codings()[info.param].label;
}

INSTANTIATE_TEST_SUITE_P(HttpDecode, PerCoding, ::testing::Range<std::size_t>(0, 6), coding_name);

// ---- Content-Encoding values ----------------------------------------------------------------

TEST(HttpDecode, AcceptEncodingListsWhatIsDecoded) {
    EXPECT_EQ(accept_encoding(), "gzip, deflate, br, zstd");
    std::string_view rest = accept_encoding();
    while (!rest.empty()) {
        const auto comma = rest.find(", ");
        const std::string_view coding = rest.substr(0, comma);
        EXPECT_NE(ContentDecoder::make(coding, no_limit), nullptr) << coding;
        rest = comma == std::string_view::npos ? "" : rest.substr(comma + 2);
    }
}

TEST(HttpDecode, NothingToDecodeGivesNoDecoder) {
    for (const std::string_view value :
         {"", "identity", " IDENTITY ", "identity, identity", ",", " , \t"}) {
        EXPECT_EQ(ContentDecoder::make(value, no_limit), nullptr) << "\"" << value << "\"";
    }
}

TEST(HttpDecode, TokensAreCaseInsensitiveAndTrimmed) {
    const std::string data = compressible(10'000);
    std::string encoded = compress(gzip_encoder, data);
    encoded = compress(brotli_encoder, encoded);
    EXPECT_EQ(decode(" GZip ,identity,\tBR\t", encoded), data);
}

TEST(HttpDecode, UnsupportedCodingIsNamed) {
    expect_error([] { (void)ContentDecoder::make("compress", no_limit); }, errc::protocol_error,
                 "Content-Encoding \"compress\" is not supported (nector decodes gzip, deflate, "
                 "br, zstd)");
    expect_error([] { (void)ContentDecoder::make("gzip, x-compress", no_limit); },
                 errc::protocol_error, "Content-Encoding \"x-compress\" is not supported");
    // Only the offending token, escaped.
    expect_error([] { (void)ContentDecoder::make("br, bad\r\nname", no_limit); },
                 errc::protocol_error, R"(Content-Encoding "bad\r\nname" is not supported)");
    // The caller's context comes first.
    const std::string what =
        expect_error([] { (void)ContentDecoder::make("lzma", no_limit, "GET http://h/x"); },
                     errc::protocol_error, "Content-Encoding \"lzma\"");
    EXPECT_EQ(what.rfind("GET http://h/x: Content-Encoding", 0), 0U) << what;
}

TEST(HttpDecode, AtMostFiveCodings) {
    const std::string data = compressible(1000);
    std::string encoded = data;
    for (int i = 0; i < 5; ++i) encoded = compress(gzip_encoder, encoded);
    EXPECT_EQ(decode("gzip, gzip, gzip, gzip, gzip", encoded), data);
    expect_error([] { (void)ContentDecoder::make("gzip, gzip, gzip, gzip, gzip, gzip", no_limit); },
                 errc::protocol_error, "stacks 6 codings; nector decodes at most 5");
}

// "gzip, br": the server applied gzip, then br; the client undoes br, then gzip.
TEST(HttpDecode, StackedCodingsDecodeInReverse) {
    const std::string data = random_bytes(50'000) + compressible(50'000);
    std::string encoded = compress(brotli_encoder, compress(gzip_encoder, data));
    EXPECT_EQ(decode("gzip, br", encoded), data);
    EXPECT_EQ(decode("gzip, br", encoded, 1), data);
    // In the wrong order, br meets gzip data.
    expect_error([&] { (void)decode("br, gzip", encoded); }, errc::protocol_error, "gzip");

    encoded = compress(zstd_encoder, compress(raw_deflate_encoder, compress(gzip_encoder, data)));
    EXPECT_EQ(decode("gzip, deflate, zstd", encoded, 777), data);
}

TEST(HttpDecode, StackedErrorNamesTheInnerCoding) {
    // br around bytes that are not gzip.
    const std::string encoded = compress(brotli_encoder, "definitely not gzip data");
    expect_error([&] { (void)decode("gzip, br", encoded); }, errc::protocol_error,
                 "corrupt gzip data (zlib: incorrect header check)");
    // A truncated inner stream inside a complete outer one.
    const std::string gz = compress(gzip_encoder, compressible(10'000));
    const std::string outer = compress(brotli_encoder, gz.substr(0, gz.size() - 3));
    expect_error([&] { (void)decode("gzip, br", outer); }, errc::protocol_error,
                 "the gzip stream is truncated");
}

// A corrupted byte in the middle of a stream with a checksum (gzip's CRC-32, zlib's
// Adler-32, zstd's XXH64): whatever the byte breaks, the stream is corrupt. (Raw deflate and
// br have no checksum: a flipped byte may decode to other bytes without error.)
TEST(HttpDecode, CorruptedByteIsAnError) {
    for (const Coding& coding : codings()) {
        if (coding.label == "deflate_raw" || coding.label == "br") continue;
        SCOPED_TRACE(coding.label);
        std::string encoded = compress(coding.encoder, compressible(100 * kib));
        encoded[encoded.size() / 2] = static_cast<char>(encoded[encoded.size() / 2] ^ 0x55);
        const auto decoder = ContentDecoder::make(coding.value, no_limit);
        std::string out;
        expect_error(
            [&] {
                decoder->feed(encoded, out);
                decoder->finish(out);
            },
            errc::protocol_error, "corrupt " + coding.name + " data (");
    }
}

// Found by fuzz/content_decoder_fuzzer: libzstd checks these when a frame comes whole but
// not when it comes in small pieces; nector refuses them however they arrive.
TEST(HttpDecode, ZstdFramesLibzstdReadsTwoWaysAreRefusedEitherWay) {
    // Both frames: single segment, a checksum (XXH64 of nothing), one last block.
    const struct {
        const char* what;
        std::string frame;
        const char* says;
    } frames[] = {
        {"declares 40 bytes, holds none (an empty raw block)",
         std::string("\x28\xb5\x2f\xfd\x24\x28\x01\x00\x00\x99\xe9\xd8\x51", 13),
         "corrupt zstd data ("},
        {"an empty compressed block",
         std::string("\x28\xb5\x2f\xfd\x24\x00\x05\x00\x00\x99\xe9\xd8\x51", 13),
         "corrupt zstd data (zstd: an empty compressed block)"},
        // Found by the content_decoder fuzzer: a zstd v0.6 frame (magic FD2FB526), which
        // libzstd's legacy support read one way whole and another byte by byte. (In pieces
        // smaller than the magic number, libzstd's own refusal comes first.)
        {"a legacy (v0.6) frame", std::string("\x26\xb5\x2f\xfd\x07\x00\x00\x00", 8),
         "corrupt zstd data ("},
        {"a legacy (v0.7) frame after an RFC 8878 one",
         std::string("\x28\xb5\x2f\xfd\x20\x00\x01\x00\x00", 9) +
             std::string("\x27\xb5\x2f\xfd\x00\x00\x00\x00", 8),
         "zstd"},
    };
    for (const auto& f : frames) {
        for (std::size_t piece : {f.frame.size(), std::size_t{1}, std::size_t{4}}) {
            SCOPED_TRACE(std::string(f.what) + ", pieces of " + std::to_string(piece));
            expect_error([&] { (void)decode("zstd", f.frame, piece); }, errc::protocol_error,
                         f.says);
        }
    }
    // Whole, a legacy frame is named as such.
    expect_error([&] { (void)decode("zstd", frames[2].frame); }, errc::protocol_error,
                 "zstd: a frame in a legacy format (zstd before 1.0, not RFC 8878)");
}

// ---- gzip members ---------------------------------------------------------------------------

TEST(HttpDecode, ConcatenatedGzipMembersDecodeToTheirConcatenation) {
    const std::string a = compressible(30'000);
    const std::string b = random_bytes(20'000);
    const std::string encoded =
        compress(gzip_encoder, a) + compress(gzip_encoder, "") + compress(gzip_encoder, b);
    EXPECT_EQ(decode("gzip", encoded), a + b);
    EXPECT_EQ(decode("x-gzip", encoded, 1), a + b);
}

TEST(HttpDecode, AfterAGzipMemberOnlyAnotherMemberMayFollow) {
    const std::string member = compress(gzip_encoder, "hello");
    // The magic number's first byte, then something else.
    expect_error([&] { (void)decode("gzip", member + "\x1F" + "x", 1); }, errc::protocol_error,
                 "unexpected data after the end of the gzip stream");
    // A member cut inside its magic number is a truncated body.
    expect_error([&] { (void)decode("gzip", member + "\x1F"); }, errc::protocol_error,
                 "the gzip stream is truncated");
    // zlib's data after a gzip member is not a member.
    expect_error([&] { (void)decode("gzip", member + compress(zlib_encoder, "x")); },
                 errc::protocol_error, "unexpected data after the end of the gzip stream");
}

TEST(HttpDecode, GzipIsNotZlib) {
    expect_error([] { (void)decode("gzip", compress(zlib_encoder, "hello")); },
                 errc::protocol_error, "corrupt gzip data (zlib: incorrect header check)");
}

// ---- deflate: zlib or raw ---------------------------------------------------------------

TEST(HttpDecode, DeflateAcceptsZlibAndRaw) {
    for (const int level : {0, 1, 6, 9}) {
        SCOPED_TRACE("level " + std::to_string(level));
        const std::string data = compressible(20'000) + random_bytes(1000);
        const EncoderFactory zlib = [level] { return std::make_unique<ZlibEncoder>(15, level); };
        const EncoderFactory raw = [level] { return std::make_unique<ZlibEncoder>(-15, level); };
        EXPECT_EQ(decode("deflate", compress(zlib, data), 1), data);
        EXPECT_EQ(decode("deflate", compress(raw, data), 1), data);
    }
    // Smaller windows write other zlib headers (CINFO < 7).
    for (const int bits : {9, 12}) {
        const std::string data = compressible(5000);
        EXPECT_EQ(decode("deflate",
                         compress([bits] { return std::make_unique<ZlibEncoder>(bits); }, data)),
                  data);
    }
}

TEST(HttpDecode, ZlibChecksumIsChecked) {
    std::string encoded = compress(zlib_encoder, compressible(1000));
    encoded.back() = static_cast<char>(encoded.back() ^ 1); // Adler-32's last byte
    expect_error([&] { (void)decode("deflate", encoded); }, errc::protocol_error,
                 "corrupt deflate data (zlib: incorrect data check)");
}

TEST(HttpDecode, GzipChecksumIsChecked) {
    std::string encoded = compress(gzip_encoder, compressible(1000));
    encoded[encoded.size() - 5] = static_cast<char>(encoded[encoded.size() - 5] ^ 1); // CRC-32
    expect_error([&] { (void)decode("gzip", encoded); }, errc::protocol_error,
                 "corrupt gzip data (zlib: incorrect data check)");
}

// ---- zstd -----------------------------------------------------------------------------------

TEST(HttpDecode, ConcatenatedZstdFramesDecodeToTheirConcatenation) {
    const std::string a = compressible(30'000);
    const std::string b = random_bytes(20'000);
    const std::string encoded =
        compress(zstd_encoder, a) + compress(zstd_encoder, "") + compress(zstd_encoder, b);
    EXPECT_EQ(decode("zstd", encoded), a + b);
    EXPECT_EQ(decode("zstd", encoded, 1), a + b);
}

// A frame declares its window in its header; the decoder refuses more than 8 MiB before
// allocating it.
TEST(HttpDecode, ZstdWindowIsBounded) {
    const std::string data = compressible(100'000);
    const auto frame_with_window = [&](int window_log) {
        ZstdEncoder encoder(3, window_log);
        std::string out;
        // Flush::more first, so that the encoder does not know the size and shrink the
        // window to fit it.
        encoder.write(data, out, Flush::more);
        encoder.write("", out, Flush::end);
        return out;
    };
    EXPECT_EQ(decode("zstd", frame_with_window(23)), data);
    expect_error([&] { (void)decode("zstd", frame_with_window(24)); }, errc::protocol_error,
                 "the zstd frame needs a window larger than 8 MiB");
}

// ---- Limits ---------------------------------------------------------------------------------

// 1 GiB of zeros, compressed a MiB at a time: the compressed bytes are small, the zeros are
// never held in memory.
std::string compressed_zeros(const EncoderFactory& factory) {
    const std::string zeros(mib, '\0');
    const auto encoder = factory();
    std::string out;
    for (int i = 0; i < 1024; ++i) encoder->write(zeros, out, Flush::more);
    encoder->write("", out, Flush::end);
    return out;
}

class Bomb : public ::testing::TestWithParam<std::size_t> {
protected:
    const Coding& coding() const { return codings()[GetParam()]; }
};

TEST_P(Bomb, StopsAtTheLimitWithoutGrowingPastIt) {
    const std::size_t limit = 64 * mib;
    const std::string bomb = compressed_zeros(coding().encoder);
    EXPECT_LT(bomb.size(), 2 * mib); // the point of a bomb
    // In one piece: the check happens inside one feed(), as it decodes.
    {
        const auto decoder = ContentDecoder::make(coding().value, limit);
        std::string out;
        expect_error([&] { decoder->feed(bomb, out); }, errc::body_too_large,
                     "the decoded body exceeds the limit of 67108864 bytes");
        EXPECT_LE(out.size(), limit);
        EXPECT_EQ(decoder->decoded_size(), out.size());
        // It stopped at the limit, not early.
        EXPECT_GT(out.size(), limit - ContentDecoder::buffer_size);
        EXPECT_EQ(out.find_first_not_of('\0'), std::string::npos);
    }
    // In pieces, as a body arrives: the output never outgrows the limit.
    {
        const auto decoder = ContentDecoder::make(coding().value, limit);
        std::string out;
        std::size_t largest = 0;
        std::optional<std::error_code> error;
        for (std::size_t at = 0; at < bomb.size() && !error; at += 1024) {
            try {
                decoder->feed(std::string_view(bomb).substr(at, 1024), out);
            } catch (const TransportSpecificError& e) {
                error = e.code();
            }
            largest = std::max(largest, out.size());
        }
        EXPECT_EQ(error, std::error_code(errc::body_too_large));
        EXPECT_LE(largest, limit);
    }
}

INSTANTIATE_TEST_SUITE_P(HttpDecode, Bomb,
                         ::testing::Values(std::size_t{0}, std::size_t{2}, std::size_t{3},
                                           std::size_t{4}, std::size_t{5}),
                         coding_name);

TEST(HttpDecode, DecodedSizeCountsOnlyDecodedBytes) {
    const auto decoder = ContentDecoder::make("gzip", no_limit);
    std::string out = "already here";
    const std::string data = compressible(70'000);
    const std::string encoded = compress(gzip_encoder, data);
    decoder->feed(std::string_view(encoded).substr(0, 1000), out);
    EXPECT_EQ(decoder->decoded_size(), out.size() - 12);
    decoder->feed(std::string_view(encoded).substr(1000), out);
    decoder->finish(out);
    EXPECT_EQ(out, "already here" + data);
    EXPECT_EQ(decoder->decoded_size(), data.size());
}

TEST(HttpDecode, ContextStartsEveryMessage) {
    const auto decoder = ContentDecoder::make("gzip, br", 10, "GET https://example.com/x");
    std::string out;
    const std::string what = expect_error(
        [&] {
            decoder->feed(compress(brotli_encoder, compress(gzip_encoder, compressible(100))), out);
        },
        errc::body_too_large, "exceeds the limit of 10 bytes");
    EXPECT_EQ(what.rfind("GET https://example.com/x: decoding the response body "
                         "(Content-Encoding \"gzip, br\"): the decoded body exceeds",
                         0),
              0U)
        << what;
}

} // namespace
} // namespace nector::http::detail
