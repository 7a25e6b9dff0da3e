#include "events/event.hpp"

#include <array>
#include <utility>

namespace filingd {
namespace {

template <std::size_t... I>
Payload make_payload_impl(std::size_t index, std::index_sequence<I...>) {
  static constexpr std::array<Payload (*)(), sizeof...(I)> makers = {
      +[]() -> Payload { return std::variant_alternative_t<I, Payload>{}; }...};
  return makers[index]();
}

}  // namespace

Payload make_payload(EventType type) {
  return make_payload_impl(static_cast<std::size_t>(type),
                           std::make_index_sequence<std::variant_size_v<Payload>>{});
}

}  // namespace filingd
