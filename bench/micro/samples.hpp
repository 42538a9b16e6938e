// Realistic inputs shared by the micro benchmarks: a typical API request with eight header
// fields and a JSON body of about 350 bytes, and a transport's default headers.
#pragma once

#include <nector/transport/headers.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string_view>

namespace nector::bench {

/// The request body: an order as a shop's API would take it (about 350 bytes).
inline constexpr std::string_view order_json = R"({
  "order": {
    "id": "ord_8f14e45fceea167a",
    "customer": {"id": 4242, "name": "Ada Lovelace", "email": "ada@example.com"},
    "items": [
      {"sku": "BK-1984", "title": "Nineteen Eighty-Four", "qty": 2, "price": 12.5},
      {"sku": "PN-0042", "title": "Fountain pen", "qty": 1, "price": 3.99}
    ],
    "currency": "EUR",
    "shipping": {"method": "standard", "country": "FR", "postcode": "75011"},
    "notes": "Leave at the front desk"
  },
  "created_at": "2026-11-22T10:15:30Z"
})";

inline boost::json::value order() { return boost::json::parse(order_json); }

/// A request's own header fields, as a service sets them.
inline Headers request_headers() {
    return {{"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MjQyIn0.c2lnbmF0dXJl"},
            {"Content-Type", "application/json"},
            {"Accept", "application/json"},
            {"X-Request-Id", "7f3c2a9e-4b1d-4c8e-9a57-0d2e6b1f8c34"},
            {"X-Correlation-Id", "a41d9b7c-2f6e-4e19-8b0a-5c3d7e9f1a26"},
            {"Accept-Language", "en-GB,en;q=0.8"},
            {"Cache-Control", "no-cache"},
            {"Idempotency-Key", "order-8f14e45fceea167a"}};
}

/// Options::headers of a transport: sent with every request, overridden by name.
inline Headers default_headers() {
    return {{"authorization", "Bearer service-default-token"},
            {"X-Client", "billing-service/3.4.1"},
            {"Accept", "*/*"}};
}

} // namespace nector::bench
