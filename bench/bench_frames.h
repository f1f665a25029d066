#pragma once
// Realistic ~1.2 KB Mist stream frames for the benches (decode_bench, ingest_bench): a wireless
// and a wired packet message, with `data` as an object or as a JSON string.
#include <cstdint>
#include <string>
#include <vector>

namespace mpe::bench {

inline std::string Base64(const std::vector<uint8_t>& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t{in[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// ~550 base64 characters: a 24+16-byte pcap header and a 372-byte packet.
inline std::string PcapRaw() {
  std::vector<uint8_t> bytes(412);
  uint32_t x = 2463534242u;
  for (uint8_t& b : bytes) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return Base64(bytes);
}

inline std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

inline constexpr char kChannel[] = "/sites/4ac1dcf4-9d8b-7211-65c4-057819f0862b/pcaps";

inline std::string WirelessData() {
  return std::string(R"({"capture_id":"5d1a5a6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","lost_messages":0,)") +
         R"("pcap_dict":{"channel_frequency":5180,"channel":36,"datarate":"866.7 Mbps",)"
         R"("rssi":-63,"dst":"ff:ff:ff:ff:ff:ff","src":"d4:20:b0:81:99:2e",)"
         R"("bssid":"d4:20:b0:81:99:2e","frame_type":"Data","frame_subtype":"QoS Data",)"
         R"("proto":"802.11","ap_mac":"d4:20:b0:81:99:2e","direction":"rx",)"
         R"("timestamp":1764150001.123456,"length":412.0,"interface":"radiotap",)"
         R"("info":"QoS Data, SN=1234, FN=0, Flags=.p.....T \u2192 d4:20:b0:81:99:2e \u2192 )"
         R"(ff:ff:ff:ff:ff:ff, TID=0, A-MSDU \u2192 \"corp-wlan\" 802.11ax HE-MCS 9 NSS 2"},)"
         R"("pcap_raw":")" +
         PcapRaw() + R"("})";
}

inline std::string WiredData() {
  return std::string(R"({"capture_id":"5d1a5a6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","lost_messages":0,)") +
         R"("pcap_dict":{"dst_mac":"00:11:22:33:44:55","src_mac":"66:77:88:99:aa:bb",)"
         R"("vlan":10,"src_ip":"10.20.30.40","dst_ip":"192.168.100.200","src_port":443,)"
         R"("dst_port":51514,"proto":"TCP","ap_mac":"5c:5b:35:0e:00:1c","direction":"tx",)"
         R"("timestamp":1764150002.654321,"length":412.0,"interface":"wired",)"
         R"("info":"443 \u2192 51514 [PSH, ACK] Seq=1 Ack=1 Win=501 Len=346 \u2192 TLSv1.3 )"
         R"(Application Data, Application Data \u2192 \"api.example.com\" HTTP/2 DATA"},)"
         R"("pcap_raw":")" +
         PcapRaw() + R"("})";
}

inline std::string ObjectFrame(const std::string& data) {
  return std::string(R"({"event":"data","channel":")") + kChannel + R"(","data":)" + data + "}";
}

inline std::string StringFrame(const std::string& data) { return ObjectFrame(Quote(data)); }

}  // namespace mpe::bench
