// Request preparation (prepare.hpp).
#include "http/client/prepare.hpp"

#include "detail/base64.hpp"
#include "http/codec/decode.hpp"
#include "http/errors/bridge.hpp"
#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "nector/transport/errors.hpp"

#include <algorithm>
#include <string>

namespace nector::http::detail {
Preparer::Preparer(const Options& options) : options_(options) {
    default_headers_ = options.headers;
    default_headers_.erase("Content-Length");
    default_headers_.erase("Transfer-Encoding");
    if (!options.user_agent.empty() && !default_headers_.contains("User-Agent")) {
        default_headers_.set("User-Agent", options.user_agent);
    }
    if (!default_headers_.contains("Accept")) default_headers_.set("Accept", "*/*");
    // Basic and Bearer credentials go with every request, as a default header (dropped by a
    // redirect to another origin, overridden by a request's own or its URL's).
    const AuthScheme scheme = effective_scheme(options.auth);
    if (scheme == AuthScheme::basic && !default_headers_.contains("Authorization")) {
        default_headers_.set("Authorization", basic_auth(options.auth.user, options.auth.password));
    } else if (scheme == AuthScheme::bearer && !default_headers_.contains("Authorization")) {
        default_headers_.set("Authorization", bearer_auth(options.auth.token));
    }
    if (options.decode_content && !default_headers_.contains("Accept-Encoding")) {
        default_headers_.set("Accept-Encoding", std::string(accept_encoding()));
    }
    try {
        for (const auto& [name, value] : default_headers_) validate_header(name, value);
        defaults_valid_ = true;
    } catch (const TransportError&) {
        defaults_valid_ = false; // each request reports it (a bad user_agent, say)
    }
}

Prepared Preparer::operator()(HttpMessage& message) const {
    Prepared p;
    try {
        validate_method(message.method);
        p.method = message.method;
        p.target = message.params.empty()
                       ? make_target(options_.base_url, message.url)
                       : make_target(options_.base_url, append_query(message.url, message.params));
        p.context = p.method + " " + p.target.url;
        // Only multipart bodies need a (random) boundary.
        const std::string boundary = message.files.empty() ? std::string() : make_boundary();
        std::optional<UploadBody> upload = encode_upload(message, boundary);
        std::optional<EncodedBody> body;
        if (!upload) body = encode_body(message, boundary);
        const std::string_view content_type = upload ? std::string_view(upload->content_type)
                                              : body ? std::string_view(body->content_type)
                                                     : std::string_view();
        // The transport's headers and defaults were merged once (see the constructor).
        p.defaults = &default_headers_;
        if (!message.headers.empty()) {
            // A message's field replaces the default of its name; a name the message repeats
            // is sent as often as it is given (curl's and httpie's repeated -H).
            Headers& headers = p.mutable_headers();
            const auto& fields = message.headers;
            for (auto field = fields.begin(); field != fields.end(); ++field) {
                const bool repeated = std::any_of(fields.begin(), field, [&](const auto& earlier) {
                    return iequals(earlier.first, field->first);
                });
                if (repeated) {
                    headers.add(field->first, field->second);
                } else {
                    headers.set(field->first, field->second);
                }
            }
            headers.erase("Content-Length");
            headers.erase("Transfer-Encoding");
        }
        if (!content_type.empty() && !p.headers().contains("Content-Type")) {
            p.mutable_headers().set("Content-Type", std::string(content_type));
        }
        // A URL's credentials are for this request: over the transport's own (default
        // headers, Options::auth), not over the request's Authorization.
        if (!p.target.userinfo.empty() && !message.headers.contains("Authorization")) {
            p.mutable_headers().set("Authorization", "Basic " + nector::detail::base64_encode(
                                                                    as_bytes(p.target.userinfo)));
        }
        if (defaults_valid_) {
            for (const auto& [name, value] : message.headers) validate_header(name, value);
        } else {
            for (const auto& [name, value] : p.headers()) validate_header(name, value);
        }
        if (p.method == "TRACE" && (upload || (body && !body->data.empty()))) {
            throw_error(errc::invalid_method, "a TRACE request cannot have a body (RFC 9110)");
        }
        if (body) p.body = std::move(body->data);
        if (upload) p.upload = std::make_shared<const UploadBody>(std::move(*upload));
        return p;
    } catch (const SerializationError&) {
        throw; // already says which request and body
    } catch (const TransportError& e) {
        const std::string context =
            p.context.empty() ? printable(message.method) + " " + printable(redact(message.url))
                              : p.context;
        std::rethrow_exception(make_exception(e.code(), context + ": " + bare_message(e)));
    }
}

} // namespace nector::http::detail
