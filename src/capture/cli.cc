#include "capture/cli.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "capture/capture_file.h"
#include "capture/capture_request.h"
#include "capture/site_ref.h"
#include "common/clock.h"
#include "common/flag_parser.h"
#include "common/mac.h"
#include "common/text.h"
#include "common/units.h"
#include "config/capture_rules.h"
#include "mist/mist_client.h"

namespace mpe::capture {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitApi = 2;

constexpr std::string_view kUsage =
    R"(Usage: mist_pcap_exporter [--config.file=PATH] captures COMMAND [FLAGS]

Manage Mist packet captures with the service's config file (sites, api_url) and API token
(environment variable named by mist.token_env, or mist.token_file).

Commands:
  list      --site S [--duration 1d | --start EPOCH --end EPOCH] [--client-mac MAC] [--limit N]
            Captures of a site in a window (all pages; --limit is Mist's page size).
  status    --site S          The capture running now.
  start     --site S --type T [capture fields]   Start a capture.
  stop      --site S          Stop the running capture.
  annotate  --site S --id PCAP_ID --notes TEXT   Set a capture's notes.
  download  --site S --id PCAP_ID [--file PATH] [--duration 1d | --start EPOCH --end EPOCH]
            Fetch a finished capture's file (its pcap_url in the list window) into PATH
            (default PCAP_ID.pcap or .pcapng), checked to be pcap/pcapng; prints the packets.

Capture fields (start); each type takes only the fields of its Mist schema:
  --type client|new_assoc|radiotap|radiotap,wired|wired|wireless|scan   (required)
  --ap-mac MAC          one AP; left out: every AP of the site             (all types)
  --client-mac MAC      required for client; new_assoc, radiotap, radiotap,wired, scan
  --ssid SSID           client, new_assoc, radiotap, radiotap,wired, wireless
  --wlan-id UUID        radiotap, radiotap,wired, wireless
  --band B              radiotap, radiotap,wired: 24 | 24,5,6 | 5 | 6;  wireless, scan: 24 | 5 | 6
                        (2.4 may be written for 24)
  --channel N (1..233)  --bandwidth 20|40|80|160  --width W                 (scan)
  --duration SECONDS|DURATION (60..86400 s)  --num-packets N (0..10000)  --max-pkt-len N (64..2048)
  --includes-mcast[=true|false]                                            (client, new_assoc)
  --tcpdump-expression EXPR          radiotap, radiotap,wired, wired, scan
  --radiotap-tcpdump-expression EXPR  --wired-tcpdump-expression EXPR
  --wireless-tcpdump-expression EXPR                                       (radiotap,wired)
  --format stream|pcap  every type but client and new_assoc; default stream (sent explicitly:
                        Mist's own default, pcap, never reaches the stream)
  gateway and switch captures need per-device port maps and are refused.

Common flags:
  --site S      a configured site name or id, or any site id (UUID)
  -o, --output table|json   (default table)
  -h, --help

Exit codes: 0 ok, 1 usage or validation error (nothing sent), 2 Mist API or download error.
)";

// "--client-mac" for the capture field client_mac.
std::string FlagName(std::string_view key) {
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

// The flags of one subcommand: name -> values (repeatable), in the order given.
struct Flags {
  std::map<std::string, std::vector<std::string>> values;
  bool help = false;

  const std::string* Get(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? nullptr : &it->second.back();
  }
};

// The error for a flag value that is not what the flag takes: `LABEL must be WHAT; got "V"`.
common::Error BadValue(std::string_view label, std::string_view what, std::string_view value) {
  return common::MakeError(std::string(label) + " must be " + std::string(what) + "; got \"" +
                           std::string(value) + "\"");
}

// The CLI's wording of a command-line problem ("--help=x" is an unknown flag here).
std::string FlagProblem(const common::FlagError& error) {
  if (error.kind == common::FlagErrorKind::kUnexpectedValue) return "unknown flag " + error.flag;
  return common::FlagErrorText(error);
}

// The words after the command, read with `defs` (a subcommand's table, --help and --output
// first). --output's value is checked in command-line order, before any later problem.
common::Result<Flags> ReadFlags(const std::vector<std::string>& args, size_t first,
                                const std::vector<common::FlagDef>& defs) {
  const std::vector<std::string_view> words(args.begin() + static_cast<ptrdiff_t>(first),
                                            args.end());
  const common::FlagParse parsed = common::ParseFlags(words, defs);
  Flags flags;
  for (const common::ParsedFlag& flag : parsed.flags) {
    if (flag.name == "--help") {
      flags.help = true;
      continue;
    }
    if (flag.name == "--output" && flag.value != "table" && flag.value != "json")
      return BadValue("--output", "table or json", flag.value);
    flags.values[flag.name].push_back(flag.value);
  }
  if (parsed.error) return common::MakeError(FlagProblem(*parsed.error));
  return flags;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Seconds from "600" or a duration like "10m" / "1d".
std::optional<int64_t> ParseSeconds(std::string_view s) {
  if (auto n = ParseInt(s)) return n;
  if (auto d = common::ParseDuration(s)) {
    return std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  }
  return std::nullopt;
}

// What a number flag takes: text read with `parse`, within [min, max], and how its error
// names the flag and the numbers it takes.
struct NumberRule {
  std::string label;  // the flag as the error names it ("--limit"; "--duration:" for start)
  std::optional<int64_t> (*parse)(std::string_view);
  int64_t min;
  int64_t max;
  std::string_view what;
};

// The number in `text` (nullopt when the flag was not given) or the rule's error.
common::Result<std::optional<int64_t>> ReadNumber(const NumberRule& rule, const std::string* text) {
  if (text == nullptr) return std::optional<int64_t>();
  const std::optional<int64_t> n = rule.parse(*text);
  if (!n || *n < rule.min || *n > rule.max) return BadValue(rule.label, rule.what, *text);
  return n;
}

std::string IsoTime(double epoch) {
  if (epoch <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(std::floor(epoch));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string DurationText(double seconds) {
  if (seconds <= 0) return "-";
  return common::FormatDuration(
      std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000))));
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text.append(width[c] - cells[c].size() + 2, ' ');
    }
    out << text << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
}

using JsonWriter = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

// One field of a record a command prints, described once for both outputs: its JSON member
// (key and value) and its table entry (key and text). A field one output leaves out has no
// key there.
struct Field;
using Fields = std::vector<Field>;
// A JSON member's value; Fields is a nested object, a vector of them an array of objects.
using JsonValue = std::variant<std::string, double, int64_t, bool, std::vector<std::string>, Fields,
                               std::vector<Fields>>;
struct Field {
  std::optional<std::string> json_key;
  JsonValue json;
  std::optional<std::string> table_key;
  std::string text;  // the table's text; empty prints as "-"
};

Field JsonField(std::string key, JsonValue value) {
  return {std::move(key), std::move(value), std::nullopt, ""};
}
Field TableField(std::string key, std::string text) {
  return {std::nullopt, std::string(), std::move(key), std::move(text)};
}
Field BothField(std::string json_key, JsonValue value, std::string table_key, std::string text) {
  return {std::move(json_key), std::move(value), std::move(table_key), std::move(text)};
}
// A text field under the same key in both outputs.
Field TextField(const std::string& key, const std::string& text) {
  return BothField(key, text, key, text);
}
// A number field under the same key in both outputs.
Field NumberField(const std::string& key, int64_t n) {
  return BothField(key, n, key, std::to_string(n));
}

Fields Concat(Fields first, const Fields& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

void WriteObject(JsonWriter& w, const Fields& fields);

// Writes one JSON value of a field.
struct JsonValueWriter {
  JsonWriter& w;
  void operator()(const std::string& s) const { w.String(s); }
  void operator()(double d) const { w.Double(d); }
  void operator()(int64_t n) const { w.Int64(n); }
  void operator()(bool b) const { w.Bool(b); }
  void operator()(const std::vector<std::string>& items) const {
    w.StartArray();
    for (const auto& s : items) w.String(s);
    w.EndArray();
  }
  void operator()(const Fields& object) const { WriteObject(w, object); }
  void operator()(const std::vector<Fields>& objects) const {
    w.StartArray();
    for (const auto& object : objects) WriteObject(w, object);
    w.EndArray();
  }
};

// The fields that have a JSON key, as one object in their order.
void WriteObject(JsonWriter& w, const Fields& fields) {
  w.StartObject();
  for (const Field& f : fields) {
    if (!f.json_key) continue;
    w.Key(*f.json_key);
    std::visit(JsonValueWriter{w}, f.json);
  }
  w.EndObject();
}

void PrintJson(std::ostream& out, const Fields& fields) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.SetIndent(' ', 2);
  WriteObject(w, fields);
  out << sb.GetString() << "\n";
}

// A table cell or "key: value" text: "-" when empty, control characters escaped.
std::string CellText(const std::string& text) {
  return text.empty() ? std::string("-") : common::EscapeControl(text);
}

// The fields that have a table key, as aligned "key: value" lines.
void PrintKeyValues(std::ostream& out, const Fields& fields) {
  size_t width = 0;
  for (const Field& f : fields) {
    if (f.table_key) width = std::max(width, f.table_key->size());
  }
  for (const Field& f : fields) {
    if (!f.table_key) continue;
    const std::string& key = *f.table_key;
    out << key << ":" << std::string(width - key.size() + 1, ' ') << CellText(f.text) << "\n";
  }
}

// Records as table rows under their table keys in capitals; `empty` gives the header when
// there are no records.
void PrintRecordTable(std::ostream& out, const Fields& empty, const std::vector<Fields>& records) {
  std::vector<std::string> header;
  for (const Field& f : empty) {
    if (!f.table_key) continue;
    std::string title = *f.table_key;
    for (char& ch : title) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    header.push_back(title);
  }
  std::vector<std::vector<std::string>> rows;
  for (const Fields& record : records) {
    std::vector<std::string>& row = rows.emplace_back();
    for (const Field& f : record) {
      if (f.table_key) row.push_back(CellText(f.text));
    }
  }
  PrintTable(out, header, rows);
}

// The site a record belongs to: JSON names its id first, the table its name.
Fields SiteFields(const common::Site& site) {
  return {JsonField("site_id", site.id), TextField("site", site.name),
          TableField("site_id", site.id)};
}

// A capture's start, end and length: epoch seconds in JSON, UTC time and duration text in
// the table.
Fields TimeFields(double started, double expiry, double duration) {
  return {BothField("started_time", started, "started", IsoTime(started)),
          BothField("expiry", expiry, "expiry", IsoTime(expiry)),
          BothField("duration", duration, "duration", DurationText(duration))};
}

// One capture of the site's list: an object of the JSON's `captures`, a row of the table.
Fields SummaryFields(const mist::CaptureSummary& c) {
  return {TextField("id", c.id),
          TextField("type", c.type),
          TextField("format", c.format),
          TextField("started", c.timestamp > 0 ? IsoTime(c.timestamp) : ""),
          JsonField("started_time", c.timestamp),
          BothField("duration", c.duration, "duration", DurationText(c.duration)),
          JsonField("max_num_packets", c.max_num_packets),
          BothField("termination_reason", c.termination_reason, "ended", c.termination_reason),
          TextField("pcap_url", c.pcap_url),
          JsonField("ap_macs", c.ap_macs)};
}

// A list of APs: the MACs in JSON, their count in the table.
Field ApsField(const std::string& json_key, const std::vector<std::string>& aps,
               const std::string& table_key) {
  return BothField(json_key, aps, table_key, std::to_string(aps.size()));
}

// The radios of a running capture: an object by AP MAC in JSON, one line in the table (left
// out when there are none).
Field PcapApsField(const std::vector<mist::PcapAp>& pcap_aps) {
  Fields by_mac;
  std::string radios;
  for (const auto& ap : pcap_aps) {
    by_mac.push_back(
        JsonField(ap.mac, Fields{JsonField("band", ap.band), JsonField("bandwidth", ap.bandwidth),
                                 JsonField("channel", ap.channel)}));
    radios += (radios.empty() ? "" : ", ") + ap.mac + " (band " + ap.band + ", channel " +
              std::to_string(ap.channel) + ", " + std::to_string(ap.bandwidth) + " MHz)";
  }
  Field field = JsonField("pcap_aps", std::move(by_mac));
  if (!radios.empty()) field.table_key = "pcap_aps";
  field.text = radios;
  return field;
}

// The capture running now (after the site's fields).
Fields StatusFields(const mist::CaptureStatus& s) {
  Fields fields = {BothField("running", s.running, "running", s.running ? "yes" : "no")};
  if (!s.running) return fields;
  fields.push_back(TextField("id", s.id));
  fields.push_back(TextField("type", s.type));
  fields.push_back(TextField("format", s.format));
  fields = Concat(std::move(fields), TimeFields(s.started_time, s.expiry, s.duration));
  fields.push_back(BothField("max_num_packets", s.max_num_packets, "max_packets",
                             std::to_string(s.max_num_packets)));
  // num_packets is absent for client and new_assoc: JSON leaves it out, the table shows "-".
  fields.push_back(s.num_packets ? BothField("num_packets", *s.num_packets, "packets",
                                             std::to_string(*s.num_packets))
                                 : TableField("packets", ""));
  fields.push_back(NumberField("max_pkt_len", s.max_pkt_len));
  fields.push_back(ApsField("requested_aps", s.requested_aps, "aps_requested"));
  fields.push_back(ApsField("ok_aps", s.ok_aps, "aps_ok"));
  fields.push_back(ApsField("failed_aps", s.failed_aps, "aps_failed"));
  if (!s.failed_aps.empty()) fields.push_back(TableField("failed_aps", Join(s.failed_aps, ",")));
  fields.push_back(PcapApsField(s.pcap_aps));
  return fields;
}

// The answer to a start: JSON has every field, the table (under its "started capture" line)
// those from type on.
Fields StartedFields(const mist::CaptureStarted& c, const config::ManagedCapture& request) {
  const int64_t aps = c.ap_count >= 0 ? c.ap_count : static_cast<int64_t>(c.aps.size());
  Fields fields = {JsonField("id", c.id),
                   BothField("type", c.type, "type", c.type.empty() ? request.type : c.type),
                   TextField("format", c.format)};
  fields = Concat(std::move(fields), TimeFields(c.timestamp, c.expiry, c.duration));
  fields.push_back(BothField(
      "ap_count", aps, "aps",
      aps == 0 && request.ap_mac.empty() ? "0 (Mist counted none)" : std::to_string(aps)));
  fields.push_back(JsonField("aps", c.aps));
  return fields;
}

// "HTTP 403: <detail>" from the client's "mist <endpoint> site=...: HTTP 403: <detail>", or
// the text after the context for failures without a response.
std::string ApiFailure(const common::Error& error) {
  const std::string& m = error.message;
  if (size_t http = m.find(": HTTP "); http != std::string::npos) return m.substr(http + 2);
  if (size_t colon = m.find(": "); colon != std::string::npos) return m.substr(colon + 2);
  return m;
}

// Warnings only, on stderr: stdout carries the command's output (possibly JSON). The
// previous logger comes back afterwards (the CLI also runs inside tests).
class CliLoggerScope {
 public:
  CliLoggerScope() {
    auto logger = std::make_shared<spdlog::logger>(
        "mpe-cli", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("mist_pcap_exporter: %l: %v");
    logger->set_level(spdlog::level::warn);
    spdlog::set_default_logger(logger);
  }
  ~CliLoggerScope() { spdlog::set_default_logger(previous_); }
  CliLoggerScope(const CliLoggerScope&) = delete;
  CliLoggerScope& operator=(const CliLoggerScope&) = delete;

 private:
  std::shared_ptr<spdlog::logger> previous_ = spdlog::default_logger();
};

class Cli {
 public:
  Cli(const config::CommandLine& cl, const config::LoadOptions& load_options, std::ostream& out,
      std::ostream& err)
      : cl_(cl), load_options_(load_options), out_(out), err_(err) {}

  int Run() {
    if (auto done = ParseCommandLine()) return *done;
    // Everything the user typed is checked before the config is read or Mist is called.
    if (auto done = CheckArguments()) return *done;
    if (auto done = LoadConfigAndSite()) return *done;
    CliLoggerScope logger_scope;
    mist::MistClient client(config_.mist, config_.token, nullptr, common::SystemClock::Instance());
    return RunCommand(client);
  }

 private:
  // Sets op_, flags_ and json_. An exit code when the command line is done with: help was
  // asked for or the usage is wrong.
  std::optional<int> ParseCommandLine() {
    const auto& args = cl_.subcommand;
    if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
      if (args.size() < 2) {
        err_ << kUsage;
        return kExitUsage;
      }
      out_ << kUsage;
      return kExitOk;
    }
    op_ = args[1];
    auto defs = FlagDefsOfCommand();
    if (!defs) return Usage("unknown captures command \"" + op_ + "\"");
    auto flags = ReadFlags(args, 2, *defs);
    if (!flags.ok()) return Usage(flags.error().message);
    flags_ = std::move(flags).value();
    if (flags_.help) {
      out_ << kUsage;
      return kExitOk;
    }
    const std::string* output = flags_.Get("--output");
    json_ = output != nullptr && *output == "json";
    return std::nullopt;
  }

  // The flags op_ takes (--help and --output are common to all), or nullopt for an unknown
  // command.
  std::optional<std::vector<common::FlagDef>> FlagDefsOfCommand() const {
    using common::FlagKind;
    std::vector<common::FlagDef> defs = {{"--help", FlagKind::kSwitch, "-h"},
                                         {"--output", FlagKind::kValue, "-o"},
                                         {"--site", FlagKind::kValue, ""}};
    auto add = [&defs](std::initializer_list<const char*> names) {
      for (const char* name : names) defs.push_back({name, FlagKind::kValue, ""});
    };
    if (op_ == "list") {
      add({"--duration", "--start", "--end", "--client-mac", "--limit"});
    } else if (op_ == "start") {
      add({"--type"});
      for (const auto& field : config::CaptureFields()) {
        const FlagKind kind = field.flag != nullptr ? FlagKind::kOptionalBool : FlagKind::kValue;
        defs.push_back({FlagName(field.key), kind, ""});
      }
    } else if (op_ == "download") {
      add({"--id", "--file", "--duration", "--start", "--end"});
    } else if (op_ == "annotate") {
      add({"--id", "--notes"});
    } else if (op_ != "status" && op_ != "stop") {
      return std::nullopt;
    }
    return defs;
  }

  // The usage exit code when a flag's value is wrong or a required flag is missing.
  std::optional<int> CheckArguments() {
    if (op_ == "start") {
      if (auto st = BuildStartRequest(); !st.ok()) return Usage(st.error().message);
    } else if (op_ == "list" || op_ == "download") {
      if (auto st = BuildListQuery(); !st.ok()) return Usage(st.error().message);
    }
    if (op_ == "annotate" || op_ == "download") {
      const std::string* id = flags_.Get("--id");
      if (id == nullptr || id->empty()) return Usage(op_ + " needs --id PCAP_ID");
      if (*id == "-") {
        return Usage(
            "this capture has no id in Mist's list (`id` is optional in Mist's API), "
            "so it cannot be " +
            std::string(op_ == "annotate" ? "annotated" : "downloaded") + " by id");
      }
      if (op_ == "annotate" && flags_.Get("--notes") == nullptr)
        return Usage("annotate needs --notes TEXT");
    }
    const std::string* site_text = flags_.Get("--site");
    if (site_text == nullptr || site_text->empty()) return Usage(op_ + " needs --site SITE");
    return std::nullopt;
  }

  // Sets config_ and site_; the usage exit code when the config or --site is unusable.
  std::optional<int> LoadConfigAndSite() {
    const std::string& site_text = *flags_.Get("--site");
    config::LoadOptions opts = load_options_;
    opts.require_token = true;
    auto cfg = config::LoadConfigFile(cl_.config_file, cl_, opts);
    if (!cfg.ok()) {
      err_ << "mist_pcap_exporter: " << cfg.error().message << "\n";
      return kExitUsage;
    }
    config_ = std::move(cfg).value();
    auto site = ResolveSite(config_, site_text);
    if (!site) {
      err_ << "mist_pcap_exporter: --site \"" << site_text
           << "\" is neither a configured site name or id nor a site id (UUID)\n";
      return kExitUsage;
    }
    site_ = *site;
    return std::nullopt;
  }

  int RunCommand(mist::MistClient& client) {
    if (op_ == "list") return List(client);
    if (op_ == "status") return Status(client);
    if (op_ == "start") return StartCapture(client);
    if (op_ == "stop") return Stop(client);
    if (op_ == "download") return Download(client);
    return Annotate(client);
  }

  int Usage(const std::string& message) {
    err_ << "mist_pcap_exporter: captures " << (op_.empty() ? "" : op_ + ": ") << message
         << " (see mist_pcap_exporter captures --help)\n";
    return kExitUsage;
  }

  int ApiError(const common::Error& error) { return Failed(ApiFailure(error)); }

  // The API exit code, after saying why op_ failed.
  int Failed(const std::string& why) {
    err_ << "mist_pcap_exporter: " << op_ << " failed: " << why << "\n";
    return kExitApi;
  }

  // The success exit code, after printing the outcome: `json` as a JSON object, or `line`.
  int Done(const Fields& json, const std::string& line) {
    if (json_) {
      PrintJson(out_, json);
    } else {
      out_ << line << "\n";
    }
    return kExitOk;
  }

  common::Status BuildStartRequest() {
    auto& r = request_;
    const std::string* type = flags_.Get("--type");
    if (type == nullptr) return common::MakeError("start needs --type");
    r.type = *type;
    for (const auto& field : config::CaptureFields()) {
      const std::string flag = FlagName(field.key);
      auto it = flags_.values.find(flag);
      if (it == flags_.values.end() || it->second.empty()) continue;
      const std::string& v = it->second.back();
      if (field.key == "ap_mac" && (it->second.size() > 1 || v.find(',') != std::string::npos)) {
        return common::MakeError(
            "--ap-mac: takes one MAC (Mist captures on one AP, or on every AP of the site when "
            "--ap-mac is left out)");
      }
      if (field.text != nullptr) {
        r.*field.text = v;
      } else if (field.flag != nullptr) {
        r.*field.flag = v == "true";
      } else {
        const NumberRule rule = {flag + ":", field.key == "duration" ? ParseSeconds : ParseInt,
                                 INT32_MIN, INT32_MAX, "a number"};
        auto n = ReadNumber(rule, &v);
        if (!n.ok()) return n.error();
        r.*field.number = static_cast<int>(**n);
      }
    }
    if (auto problem = config::CheckCapture(&r)) {
      return common::MakeError((problem->key == "type" ? "--type" : FlagName(problem->key)) + ": " +
                               problem->message);
    }
    return common::Ok{};
  }

  common::Status BuildListQuery() {
    // Read in this order, so the first wrong one is the one reported.
    std::optional<int64_t> duration, start, end;
    const std::vector<std::pair<NumberRule, std::optional<int64_t>*>> numbers = {
        {{"--duration", ParseSeconds, 1, INT64_MAX, "like 1d, 12h or seconds"}, &duration},
        {{"--start", ParseInt, 0, INT64_MAX, "epoch seconds"}, &start},
        {{"--end", ParseInt, 0, INT64_MAX, "epoch seconds"}, &end}};
    for (const auto& [rule, into] : numbers) {
      auto n = ReadNumber(rule, flags_.Get(rule.label));
      if (!n.ok()) return n.error();
      *into = *n;
    }
    if (duration) query_.duration = std::chrono::seconds(*duration);
    if (start) query_.start = *start;
    if (end) query_.end = *end;
    if ((start || end) && duration)
      return common::MakeError("use either --duration or --start/--end");
    if (end && !start) return common::MakeError("--end needs --start");
    if (start && end && *end < *start) return common::MakeError("--end is before --start");
    if (auto v = flags_.Get("--client-mac")) {
      auto mac = common::ParseMac(*v);
      if (!mac) return common::MakeError("--client-mac: invalid MAC address \"" + *v + "\"");
      query_.client_mac = common::FormatMac(*mac);
    }
    auto n =
        ReadNumber({"--limit", ParseInt, 1, 1000, "between 1 and 1000"}, flags_.Get("--limit"));
    if (!n.ok()) return n.error();
    if (*n) query_.limit = static_cast<int>(**n);
    return common::Ok{};
  }

  int List(mist::MistClient& client) {
    auto list = client.ListCaptures(site_.id, query_);
    if (!list.ok()) return ApiError(list.error());
    auto items = std::move(list).value();
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return a.timestamp > b.timestamp; });
    std::vector<Fields> captures;
    for (const auto& c : items) captures.push_back(SummaryFields(c));
    if (json_) {
      PrintJson(out_, Concat(SiteFields(site_), {JsonField("captures", std::move(captures))}));
      return kExitOk;
    }
    PrintRecordTable(out_, SummaryFields({}), captures);
    if (items.empty()) out_ << "(no captures in the window)\n";
    return kExitOk;
  }

  int Status(mist::MistClient& client) {
    auto status = client.GetCaptureStatus(site_.id);
    if (!status.ok()) return ApiError(status.error());
    const Fields fields = Concat(SiteFields(site_), StatusFields(*status));
    if (json_) {
      PrintJson(out_, fields);
    } else {
      PrintKeyValues(out_, fields);
    }
    return kExitOk;
  }

  int StartCapture(mist::MistClient& client) {
    auto started = client.StartCapture(site_.id, CaptureRequestJson(request_));
    if (!started.ok()) return ApiError(started.error());
    const Fields fields = StartedFields(*started, request_);
    if (json_) {
      PrintJson(out_, Concat(SiteFields(site_), fields));
      return kExitOk;
    }
    out_ << "started capture "
         << common::EscapeControl(started->id.empty() ? "(no id)" : started->id) << " on site "
         << site_.name << "\n";
    PrintKeyValues(out_, fields);
    return kExitOk;
  }

  int Download(mist::MistClient& client) {
    const std::string& id = *flags_.Get("--id");
    auto list = client.ListCaptures(site_.id, query_);
    if (!list.ok()) return ApiError(list.error());
    const mist::CaptureSummary* found = nullptr;
    for (const auto& c : *list) {
      if (c.id == id) found = &c;
    }
    if (found == nullptr) {
      return Failed("capture " + common::EscapeControl(id) +
                    " is not in the site's capture list for this window (widen it with "
                    "--duration or --start/--end)");
    }
    if (found->pcap_url.empty()) {
      return Failed("capture " + common::EscapeControl(id) +
                    " has no pcap_url in Mist's list (no file yet: it may still be running, or "
                    "Mist kept none)");
    }
    auto bytes = client.DownloadCaptureFile(site_.id, found->pcap_url);
    if (!bytes.ok()) return ApiError(bytes.error());
    auto info = InspectCaptureFile(*bytes);
    if (!info.ok()) {
      return Failed("the file at pcap_url is " + info.error().message + "; nothing written");
    }
    std::string path;
    if (const std::string* file = flags_.Get("--file")) {
      path = *file;
    } else {
      // The id names the file: keep it to safe characters.
      for (char ch : id) {
        const bool safe = std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
        path += safe ? ch : '_';
      }
      path += "." + info->format;
    }
    if (auto st = WriteFileAtomically(path, *bytes); !st.ok()) return Failed(st.error().message);
    return Done({JsonField("id", id), JsonField("file", path), JsonField("format", info->format),
                 JsonField("packets", static_cast<int64_t>(info->packets)),
                 JsonField("bytes", static_cast<int64_t>(bytes->size()))},
                "wrote " + path + ": " + std::to_string(info->packets) + " packets, " +
                    std::to_string(bytes->size()) + " bytes (" + info->format + ")");
  }

  int Stop(mist::MistClient& client) {
    auto stopped = client.StopCapture(site_.id);
    if (!stopped.ok()) return ApiError(stopped.error());
    return Done(Concat(SiteFields(site_), {JsonField("stopped", true)}),
                "stopped the capture on site " + site_.name + " (" + site_.id + ")");
  }

  int Annotate(mist::MistClient& client) {
    const std::string& id = *flags_.Get("--id");
    const std::string& notes = *flags_.Get("--notes");
    auto done = client.AnnotateCapture(site_.id, id, notes);
    if (!done.ok()) return ApiError(done.error());
    return Done({JsonField("site_id", site_.id), JsonField("id", id), JsonField("notes", notes)},
                "annotated capture " + id + " on site " + site_.name);
  }

  const config::CommandLine& cl_;
  const config::LoadOptions& load_options_;
  std::ostream& out_;
  std::ostream& err_;
  std::string op_;
  Flags flags_;
  bool json_ = false;
  config::Config config_;
  common::Site site_;
  config::ManagedCapture request_;
  mist::ListQuery query_;
};

}  // namespace

int RunCapturesCli(const config::CommandLine& cl, const config::LoadOptions& load_options,
                   std::ostream& out, std::ostream& err) {
  try {
    return Cli(cl, load_options, out, err).Run();
  } catch (const std::exception& e) {
    err << "mist_pcap_exporter: captures: " << e.what() << "\n";
    return kExitUsage;
  }
}

}  // namespace mpe::capture
