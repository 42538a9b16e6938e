// nector: the whole public API.
#pragma once

#include "nector/http/errors.hpp"
#include "nector/http/message.hpp"
#include "nector/http/options.hpp"
#include "nector/http/response.hpp"
#include "nector/http/transport.hpp"
#include "nector/transport/any_transport.hpp"
#include "nector/transport/errors.hpp"
#include "nector/transport/headers.hpp"
#include "nector/transport/message/binary.hpp"
#include "nector/transport/message/json.hpp"
#include "nector/transport/mock.hpp"
#include "nector/transport/protocol.hpp"
#include "nector/transport/registry.hpp"
#include "nector/version.hpp"
