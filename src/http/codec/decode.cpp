// Content-Encoding decoders: gzip and deflate (zlib), br (brotli), zstd, and stacked codings.
// Just over 500 lines: four decoders behind one interface, each short; they share the
// limit on decoded bytes and the error messages.
#include "http/codec/decode.hpp"

#include "http/message/body.hpp"

#include "nector/transport/errors.hpp"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

namespace nector::http::detail {

constexpr std::string_view supported_codings = "gzip, deflate, br, zstd";

std::string_view accept_encoding() noexcept { return supported_codings; }

// Where a stage writes what it decodes: the next stage, or the caller's output.
class DecodeSink {
public:
    virtual ~DecodeSink() = default;
    /// Takes `bytes` (at most ContentDecoder::buffer_size); may throw.
    virtual void write(std::string_view bytes) = 0;
};

// One coding's decoder. A stage that never receives a byte finishes without error (an
// empty body); otherwise its stream must end exactly at the end of the input.
class DecodeStage {
public:
    /// `name` is the coding, for messages; `where` (kept by reference) is the decoder's
    /// message prefix.
    DecodeStage(std::string_view name, const std::string& where) : name_(name), where_(where) {}
    DecodeStage(const DecodeStage&) = delete;
    DecodeStage& operator=(const DecodeStage&) = delete;
    virtual ~DecodeStage() = default;

    void feed(std::string_view input, DecodeSink& sink) {
        if (input.empty()) return;
        received_ = true;
        do_feed(input, sink);
    }

    void finish(DecodeSink& sink) {
        if (received_) do_finish(sink);
    }

protected:
    static constexpr std::size_t buffer_size = ContentDecoder::buffer_size;

    /// Decodes `input` (not empty), writing every decoded byte to `sink` before it returns.
    virtual void do_feed(std::string_view input, DecodeSink& sink) = 0;
    /// Throws truncated() unless the stream is complete.
    virtual void do_finish(DecodeSink& sink) = 0;

    [[noreturn]] void fail(const std::string& reason) const {
        throw_error(errc::protocol_error, where_ + ": " + reason);
    }
    [[noreturn]] void corrupt(const std::string& reason) const {
        fail("corrupt " + name_ + " data (" + reason + ")");
    }
    [[noreturn]] void truncated() const {
        fail("the " + name_ + " stream is truncated: the body ended before the stream did");
    }
    [[noreturn]] void trailing() const {
        fail("unexpected data after the end of the " + name_ + " stream");
    }

    void emit(std::size_t produced, DecodeSink& sink) {
        if (produced > 0) {
            sink.write(std::string_view(reinterpret_cast<const char*>(buffer_.data()), produced));
        }
    }

    static const unsigned char* bytes_of(std::string_view input) noexcept {
        return reinterpret_cast<const unsigned char*>(input.data());
    }

    std::array<unsigned char, buffer_size> buffer_{};
    std::string name_;

private:
    const std::string& where_;
    bool received_ = false;
};

namespace {

// gzip and deflate, on zlib's inflate.
class ZlibStage final : public DecodeStage {
public:
    enum class Format {
        gzip,   ///< RFC 1952 members, one after another
        deflate ///< RFC 1950 (zlib) or, as some servers send, raw RFC 1951
    };

    ZlibStage(std::string_view name, const std::string& where, Format format)
        : DecodeStage(name, where), format_(format) {
        if (format_ == Format::gzip) {
            init(MAX_WBITS + 16);
            state_ = State::stream;
        }
    }

    ~ZlibStage() override {
        if (initialized_) inflateEnd(&z_);
    }

private:
    enum class State {
        header,     ///< deflate: waiting for the two bytes that tell zlib from raw
        stream,     ///< inside a stream (a gzip member)
        member_end, ///< gzip: after a member; only another member may follow
        done,       ///< deflate: after the stream
    };

    static constexpr std::array<unsigned char, 2> gzip_magic = {0x1F, 0x8B};

    void init(int window_bits) {
        const int rc = inflateInit2(&z_, window_bits);
        if (rc == Z_MEM_ERROR) throw std::bad_alloc();
        if (rc != Z_OK) fail("zlib cannot start inflating: error " + std::to_string(rc));
        initialized_ = true;
    }

    // RFC 1950 §2.2: CM 8 (deflate), CINFO <= 7 (window <= 32 KiB), and the two bytes
    // as a big-endian number a multiple of 31 (FCHECK).
    static bool is_zlib_header(unsigned char cmf, unsigned char flg) noexcept {
        return (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
    }

    void do_feed(std::string_view input, DecodeSink& sink) override {
        const unsigned char* next = bytes_of(input);
        std::size_t left = input.size();
        while (left > 0) {
            switch (state_) {
                case State::header:
                    header_[header_size_++] = *next++;
                    --left;
                    if (header_size_ == header_.size()) {
                        init(is_zlib_header(header_[0], header_[1]) ? MAX_WBITS : -MAX_WBITS);
                        state_ = State::stream;
                        inflate_all(header_.data(), header_.size(), sink);
                    }
                    break;
                case State::stream: {
                    const std::size_t used = inflate_some(next, left, sink);
                    next += used;
                    left -= used;
                    break;
                }
                case State::member_end:
                    // Checked here, not by zlib, so that the error says what happened.
                    if (*next != gzip_magic[header_size_]) trailing();
                    ++next;
                    --left;
                    if (++header_size_ == gzip_magic.size()) {
                        header_size_ = 0;
                        inflateReset(&z_);
                        state_ = State::stream;
                        inflate_all(gzip_magic.data(), gzip_magic.size(), sink);
                    }
                    break;
                case State::done:
                    trailing();
            }
        }
    }

    void do_finish(DecodeSink&) override {
        // Every feed drains zlib's output, so all that is left to check is completeness.
        const bool complete =
            state_ == State::done || (state_ == State::member_end && header_size_ == 0);
        if (!complete) truncated();
    }

    // Inflates bytes that must all belong to the current stream.
    void inflate_all(const unsigned char* data, std::size_t size, DecodeSink& sink) {
        if (inflate_some(data, size, sink) != size) trailing();
    }

    // Inflates from `data` until zlib needs more input or the stream ends; returns how
    // many bytes it used.
    std::size_t inflate_some(const unsigned char* data, std::size_t size, DecodeSink& sink) {
        const auto chunk = static_cast<uInt>(std::min<std::size_t>(size, UINT32_MAX));
        // zlib does not write through next_in; its API predates const.
        z_.next_in = const_cast<Bytef*>(data);
        z_.avail_in = chunk;
        for (;;) {
            z_.next_out = buffer_.data();
            z_.avail_out = static_cast<uInt>(buffer_.size());
            const int rc = inflate(&z_, Z_NO_FLUSH);
            switch (rc) {
                case Z_OK:
                case Z_STREAM_END:
                case Z_BUF_ERROR: // no progress possible: all input used, all output out
                    break;
                case Z_NEED_DICT:
                    corrupt("zlib: the stream needs a preset dictionary, which HTTP cannot supply");
                case Z_MEM_ERROR:
                    throw std::bad_alloc();
                default:
                    corrupt(std::string("zlib: ") +
                            (z_.msg != nullptr ? z_.msg : "error " + std::to_string(rc)));
            }
            emit(buffer_.size() - z_.avail_out, sink);
            if (rc == Z_STREAM_END) {
                state_ = format_ == Format::gzip ? State::member_end : State::done;
                return chunk - z_.avail_in;
            }
            if (rc == Z_BUF_ERROR || (z_.avail_in == 0 && z_.avail_out != 0)) return chunk;
        }
    }

    Format format_;
    State state_ = State::header;
    z_stream z_{};
    bool initialized_ = false;
    // deflate's first two bytes (State::header), or how much of the gzip magic number
    // has been seen after a member (State::member_end).
    std::array<unsigned char, 2> header_{};
    std::size_t header_size_ = 0;
};

// br, on Brotli's streaming decoder.
class BrotliStage final : public DecodeStage {
public:
    BrotliStage(std::string_view name, const std::string& where)
        : DecodeStage(name, where), state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {
        if (state_ == nullptr) throw std::bad_alloc();
    }

    ~BrotliStage() override { BrotliDecoderDestroyInstance(state_); }

private:
    void do_feed(std::string_view input, DecodeSink& sink) override {
        if (done_) trailing();
        std::size_t avail_in = input.size();
        const std::uint8_t* next_in = bytes_of(input);
        for (;;) {
            std::size_t avail_out = buffer_.size();
            std::uint8_t* next_out = buffer_.data();
            const BrotliDecoderResult result = BrotliDecoderDecompressStream(
                state_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
            if (result == BROTLI_DECODER_RESULT_ERROR) {
                fail_with(BrotliDecoderGetErrorCode(state_));
            }
            emit(buffer_.size() - avail_out, sink);
            if (result == BROTLI_DECODER_RESULT_SUCCESS) {
                done_ = true;
                if (avail_in > 0) trailing();
                return;
            }
            if (result == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return;
            // BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: go round with an empty buffer.
        }
    }

    void do_finish(DecodeSink&) override {
        if (!done_) truncated();
    }

    [[noreturn]] void fail_with(BrotliDecoderErrorCode code) const {
        // Brotli's codes are ranges: the input's format (-1 to -17), allocation (-21 to
        // -30), and misuse; the strings are the names without their prefix ("PADDING_2").
        if (code <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
            code >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES) {
            throw std::bad_alloc();
        }
        const bool format = code <= BROTLI_DECODER_ERROR_FORMAT_EXUBERANT_NIBBLE &&
                            code >= BROTLI_DECODER_ERROR_FORMAT_BLOCK_SWITCH;
        corrupt(std::string("brotli: ") + (format ? "invalid format, " : "") +
                BrotliDecoderErrorString(code));
    }

    BrotliDecoderState* state_;
    bool done_ = false;
};

// zstd, on ZSTD_decompressStream.
/// Walks the frame and block headers of a zstd stream beside libzstd, which, when a frame
/// comes in small pieces, lets pass an empty compressed block that it refuses when the frame
/// comes whole (a compressed block holds at least its literals section, RFC 8878
/// §3.1.1.3): with this check a body reads the same however it arrives. It also refuses
/// the legacy (pre-1.0, pre-RFC 8878) frame formats, which libzstd may still decode but not
/// the same way whole and in pieces, and which the zstd content coding (RFC 8878 §3.1.1)
/// does not include. Payloads are skipped, not read; another unknown magic number stops the
/// walk (libzstd reports it).
class ZstdWalker {
public:
    enum class Verdict { ok, empty_block, legacy };

    /// Walks the next bytes.
    Verdict walk(std::string_view in) noexcept {
        std::size_t i = 0;
        while (i < in.size() && part_ != Part::done) {
            if (part_ == Part::skip) {
                const auto k =
                    static_cast<std::size_t>(std::min<std::uint64_t>(skip_, in.size() - i));
                i += k;
                skip_ -= k;
                if (skip_ == 0) expect(after_skip_);
                continue;
            }
            // (need_ is at most buf_.size(); a byte at a time says so to the compiler too.)
            while (have_ < need_ && have_ < buf_.size() && i < in.size()) {
                buf_[have_++] = static_cast<std::uint8_t>(in[i++]);
            }
            if (have_ < need_) break;
            have_ = 0;
            if (const Verdict v = field(); v != Verdict::ok) return v;
        }
        return Verdict::ok;
    }

private:
    enum class Part { magic, descriptor, skippable_size, block_header, skip, done };

    void expect(Part part) noexcept {
        part_ = part;
        need_ = part == Part::magic || part == Part::skippable_size ? 4
                : part == Part::descriptor                          ? 1
                                                                    : 3;
    }
    void skip(std::uint64_t n, Part then) noexcept {
        after_skip_ = then;
        skip_ = n;
        if (n == 0) {
            expect(then);
        } else {
            part_ = Part::skip;
        }
    }
    std::uint32_t le32() const noexcept {
        return std::uint32_t{buf_[0]} | (std::uint32_t{buf_[1]} << 8) |
               (std::uint32_t{buf_[2]} << 16) | (std::uint32_t{buf_[3]} << 24);
    }

    // The field in buf_ is complete: read it and say what comes next.
    Verdict field() noexcept {
        switch (part_) {
            case Part::magic: {
                const std::uint32_t magic = le32();
                // zstd v0.1 to v0.7 (ZSTDv01_magicNumber .. ZSTDv07_MAGICNUMBER).
                constexpr std::uint32_t first_legacy = 0xFD2FB51E;
                constexpr std::uint32_t last_legacy = 0xFD2FB527;
                if (magic == ZSTD_MAGICNUMBER) {
                    expect(Part::descriptor);
                } else if ((magic & 0xFFFFFFF0U) == ZSTD_MAGIC_SKIPPABLE_START) {
                    expect(Part::skippable_size);
                } else if (magic >= first_legacy && magic <= last_legacy) {
                    return Verdict::legacy;
                } else {
                    part_ = Part::done;
                }
                break;
            }
            case Part::descriptor: {
                const std::uint8_t d = buf_[0];
                const unsigned size_flag = d >> 6;
                const bool single_segment = ((d >> 5) & 1) != 0;
                checksum_ = ((d >> 2) & 1) != 0;
                constexpr std::array<std::size_t, 4> dictionary_id{0, 1, 2, 4};
                constexpr std::array<std::size_t, 4> content_size{0, 2, 4, 8};
                const std::size_t rest =
                    (single_segment ? 0 : 1) + dictionary_id[d & 3] +
                    (size_flag == 0 && single_segment ? 1 : content_size[size_flag]);
                skip(rest, Part::block_header);
                break;
            }
            case Part::skippable_size:
                skip(le32(), Part::magic);
                break;
            case Part::block_header: {
                const std::uint32_t h = std::uint32_t{buf_[0]} | (std::uint32_t{buf_[1]} << 8) |
                                        (std::uint32_t{buf_[2]} << 16);
                const bool last = (h & 1) != 0;
                const unsigned type = (h >> 1) & 3;
                const std::uint32_t size = h >> 3;
                if (type == 2 && size == 0) return Verdict::empty_block;
                if (type == 3) { // reserved: libzstd refuses it
                    part_ = Part::done;
                    break;
                }
                const Part then = !last ? Part::block_header : checksum_ ? Part::skip : Part::magic;
                if (then == Part::skip) {
                    // The block, then the 4-byte checksum, then the next frame.
                    skip(std::uint64_t{type == 1 ? 1U : size} + 4, Part::magic);
                } else {
                    skip(type == 1 ? 1U : size, then);
                }
                break;
            }
            case Part::skip:
            case Part::done:
                break;
        }
        return Verdict::ok;
    }

    Part part_ = Part::magic;
    Part after_skip_ = Part::magic;
    std::array<std::uint8_t, 4> buf_{};
    std::size_t have_ = 0;
    std::size_t need_ = 4;
    std::uint64_t skip_ = 0;
    bool checksum_ = false;
};

class ZstdStage final : public DecodeStage {
public:
    // 8 MiB: RFC 9659's limit for the zstd content coding.
    static constexpr int window_log_max = 23;

    ZstdStage(std::string_view name, const std::string& where)
        : DecodeStage(name, where), dctx_(ZSTD_createDCtx()) {
        if (dctx_ == nullptr) throw std::bad_alloc();
        const std::size_t rc = ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, window_log_max);
        if (ZSTD_isError(rc) != 0) {
            ZSTD_freeDCtx(dctx_);
            fail(std::string("zstd cannot limit its window: ") + ZSTD_getErrorName(rc));
        }
    }

    ~ZstdStage() override { ZSTD_freeDCtx(dctx_); }

private:
    void do_feed(std::string_view input, DecodeSink& sink) override {
        switch (walker_.walk(input)) {
            case ZstdWalker::Verdict::ok:
                break;
            case ZstdWalker::Verdict::empty_block:
                corrupt("zstd: an empty compressed block");
            case ZstdWalker::Verdict::legacy:
                corrupt("zstd: a frame in a legacy format (zstd before 1.0, not RFC 8878)");
        }
        ZSTD_inBuffer in{input.data(), input.size(), 0};
        take_header(input);
        for (;;) {
            ZSTD_outBuffer out{buffer_.data(), buffer_.size(), 0};
            const std::size_t rc = ZSTD_decompressStream(dctx_, &out, &in);
            if (ZSTD_isError(rc) != 0) {
                switch (ZSTD_getErrorCode(rc)) {
                    case ZSTD_error_frameParameter_windowTooLarge:
                        fail(
                            "the zstd frame needs a window larger than 8 MiB, which RFC 9659 "
                            "does not allow for the zstd content coding");
                    case ZSTD_error_prefix_unknown:
                        // A frame's magic number is wrong: after a frame, that is data
                        // that is not zstd at all.
                        if (frames_ > 0) trailing();
                        break;
                    case ZSTD_error_memory_allocation:
                        throw std::bad_alloc();
                    default:
                        break;
                }
                corrupt(std::string("zstd: ") + ZSTD_getErrorName(rc));
            }
            emit(out.pos, sink);
            frame_out_ += out.pos;
            // 0: a frame is complete and flushed; the next byte starts a new one.
            in_frame_ = rc != 0;
            if (!in_frame_) {
                // libzstd checks a frame's declared content size when it decodes a frame
                // whole but not always when the frame comes in small pieces: check it here,
                // so that a body reads the same however it arrives.
                if (content_size_ != ZSTD_CONTENTSIZE_UNKNOWN && frame_out_ != content_size_)
                    corrupt("zstd: the frame's content size does not match its data");
                ++frames_;
                head_have_ = 0;
                head_known_ = false;
                frame_out_ = 0;
                take_header(input.substr(in.pos));
            }
            if (in.pos == in.size && (!in_frame_ || out.pos < out.size)) return;
        }
    }

    /// Keeps the first bytes of a frame until its header (and its declared content size,
    /// if any) can be read; `bytes` are the input's bytes from the current position.
    void take_header(std::string_view bytes) {
        if (head_known_ || bytes.empty()) return;
        const std::size_t take = std::min(head_.size() - head_have_, bytes.size());
        std::copy_n(bytes.data(), take, head_.begin() + static_cast<std::ptrdiff_t>(head_have_));
        head_have_ += take;
        const unsigned long long size = ZSTD_getFrameContentSize(head_.data(), head_have_);
        if (size != ZSTD_CONTENTSIZE_ERROR) {
            content_size_ = size;
            head_known_ = true;
        } else if (head_have_ == head_.size()) {
            content_size_ = ZSTD_CONTENTSIZE_UNKNOWN; // not a header: libzstd says so
            head_known_ = true;
        }
    }

    void do_finish(DecodeSink&) override {
        if (in_frame_) truncated();
    }

    ZSTD_DCtx* dctx_;
    ZstdWalker walker_;
    bool in_frame_ = false;
    std::size_t frames_ = 0;
    // The current frame's first bytes (ZSTD_FRAMEHEADERSIZE_MAX is 18), its declared content
    // size once they tell it, and the bytes it has decoded.
    std::array<char, 18> head_{};
    std::size_t head_have_ = 0;
    bool head_known_ = false;
    unsigned long long content_size_ = ZSTD_CONTENTSIZE_UNKNOWN;
    unsigned long long frame_out_ = 0;
};

// Passes bytes to stage `next` and what it decodes on to the stages after it, or, past the
// last stage, to `output`.
class Link final : public DecodeSink {
public:
    Link(const std::vector<std::unique_ptr<DecodeStage>>& stages, std::size_t next,
         DecodeSink& output)
        : stages_(stages), next_(next), output_(output) {}

    void write(std::string_view bytes) override {
        if (next_ == stages_.size()) {
            output_.write(bytes);
            return;
        }
        Link after(stages_, next_ + 1, output_);
        stages_[next_]->feed(bytes, after);
    }

private:
    const std::vector<std::unique_ptr<DecodeStage>>& stages_;
    std::size_t next_;
    DecodeSink& output_;
};

enum class Coding { gzip, deflate, br, zstd };

std::optional<Coding> coding_named(std::string_view lower) noexcept {
    if (lower == "gzip" || lower == "x-gzip") return Coding::gzip;
    if (lower == "deflate") return Coding::deflate;
    if (lower == "br") return Coding::br;
    if (lower == "zstd") return Coding::zstd;
    return std::nullopt;
}

std::string prefixed(std::string_view context, const std::string& text) {
    return context.empty() ? text : std::string(context) + ": " + text;
}

} // namespace

// The caller's string, behind the max_decoded check.
class ContentDecoder::Output final : public DecodeSink {
public:
    Output(ContentDecoder& decoder, std::string& out) : decoder_(decoder), out_(out) {}

    void write(std::string_view bytes) override {
        if (bytes.size() > decoder_.max_decoded_ - decoder_.decoded_) {
            throw_error(errc::body_too_large, decoder_.where_ +
                                                  ": the decoded body exceeds the limit of " +
                                                  std::to_string(decoder_.max_decoded_) +
                                                  " bytes (decompression bomb protection)");
        }
        out_.append(bytes);
        decoder_.decoded_ += bytes.size();
    }

private:
    ContentDecoder& decoder_;
    std::string& out_;
};

std::unique_ptr<ContentDecoder> ContentDecoder::make(std::string_view content_encoding,
                                                     std::size_t max_decoded,
                                                     std::string_view context) {
    // In the server's order.
    std::vector<std::pair<Coding, std::string>> codings;
    std::string_view rest = content_encoding;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view token = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        std::string name = lower(token);
        if (name.empty() || name == "identity") continue;
        const auto coding = coding_named(name);
        if (!coding) {
            throw_error(errc::protocol_error,
                        prefixed(context, "Content-Encoding \"" + printable(token) +
                                              "\" is not supported (nector decodes " +
                                              std::string(supported_codings) + ")"));
        }
        codings.emplace_back(*coding, std::move(name));
    }
    if (codings.empty()) return nullptr;
    if (codings.size() > max_codings) {
        throw_error(errc::protocol_error,
                    prefixed(context, "Content-Encoding \"" + printable(content_encoding) +
                                          "\" stacks " + std::to_string(codings.size()) +
                                          " codings; nector decodes at most " +
                                          std::to_string(max_codings)));
    }

    std::unique_ptr<ContentDecoder> decoder(new ContentDecoder(
        max_decoded, prefixed(context, "decoding the response body (Content-Encoding \"" +
                                           printable(content_encoding) + "\")")));
    const std::string& where = decoder->where_;
    for (const auto& [coding, name] : codings) {
        switch (coding) {
            case Coding::gzip:
                decoder->stages_.push_back(
                    std::make_unique<ZlibStage>(name, where, ZlibStage::Format::gzip));
                break;
            case Coding::deflate:
                decoder->stages_.push_back(
                    std::make_unique<ZlibStage>(name, where, ZlibStage::Format::deflate));
                break;
            case Coding::br:
                decoder->stages_.push_back(std::make_unique<BrotliStage>(name, where));
                break;
            case Coding::zstd:
                decoder->stages_.push_back(std::make_unique<ZstdStage>(name, where));
                break;
        }
    }
    // Decoded in the reverse of the order the server applied them.
    std::reverse(decoder->stages_.begin(), decoder->stages_.end());
    return decoder;
}

ContentDecoder::ContentDecoder(std::size_t max_decoded, std::string where)
    : max_decoded_(max_decoded), where_(std::move(where)) {}

ContentDecoder::~ContentDecoder() = default;

template <class Step>
void ContentDecoder::guarded(Step&& step) {
    if (failure_) std::rethrow_exception(failure_);
    try {
        std::forward<Step>(step)();
    } catch (...) {
        // The libraries' states are undefined after some errors; never touch them again.
        failure_ = std::current_exception();
        throw;
    }
}

void ContentDecoder::feed(std::string_view input, std::string& out) {
    if (finished_) throw std::logic_error("nector ContentDecoder::feed() called after finish()");
    guarded([&] {
        Output output(*this, out);
        Link(stages_, 0, output).write(input);
    });
}

void ContentDecoder::finish(std::string& out) {
    if (finished_) return;
    guarded([&] {
        Output output(*this, out);
        // Each stage's last bytes reach the stages after it before they finish in turn.
        for (std::size_t i = 0; i < stages_.size(); ++i) {
            Link after(stages_, i + 1, output);
            stages_[i]->finish(after);
        }
    });
    finished_ = true;
}

} // namespace nector::http::detail
