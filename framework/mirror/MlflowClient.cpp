#include "framework/mirror/MlflowClient.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <curl/curl.h>
#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::mirror {
namespace {

constexpr long kConnectTimeoutMs = 2000;
constexpr long kTotalTimeoutMs = 5000;
constexpr std::size_t kMaxParamsPerBatch = 100;
constexpr std::size_t kMaxItemsPerBatch = 1000;
constexpr std::size_t kMaxParamValueLength = 6000;

std::size_t appendBody(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// curl_global_init is not thread-safe: once, before the first handle.
void initCurlOnce() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

// MLflow's JSON writes int64 fields as numbers, protobuf's canonical JSON as strings.
std::int64_t int64Field(const nlohmann::json& object, const char* key) {
  if (!object.contains(key)) return 0;
  const auto& field = object[key];
  return field.is_string() ? std::stoll(field.get<std::string>()) : field.get<std::int64_t>();
}

// JSON has no NaN or infinity; MLflow's protobuf JSON parser reads them as these strings.
nlohmann::json metricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

// The inverse of metricValue: "NaN", "Infinity" and "-Infinity" come back as strings.
double metricValueOf(const nlohmann::json& metric) {
  if (!metric.contains("value")) return 0;
  const auto& value = metric["value"];
  return value.is_string() ? std::stod(value.get<std::string>()) : value.get<double>();
}

std::string trimSlashes(std::string uri) {
  while (!uri.empty() && uri.back() == '/') uri.pop_back();
  return uri;
}

}  // namespace

const char* mlflowStatusName(MlflowStatus status) {
  switch (status) {
    case MlflowStatus::Running:
      return "RUNNING";
    case MlflowStatus::Finished:
      return "FINISHED";
    case MlflowStatus::Failed:
      return "FAILED";
    case MlflowStatus::Killed:
      return "KILLED";
  }
  return "FAILED";
}

MlflowClient::MlflowClient(std::string tracking_uri) : uri_(trimSlashes(std::move(tracking_uri))) {
  if (uri_.rfind("http://", 0) != 0 && uri_.rfind("https://", 0) != 0) {
    throw MirrorError(fmt::format(
        "MLflow tracking URI '{}': only an http:// or https:// tracking server is supported",
        uri_));
  }
  initCurlOnce();
}

nlohmann::json MlflowClient::request(const std::string& url, const std::string* body) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw MirrorError(fmt::format("{}: curl_easy_init failed", url));
  std::string response;
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"), curl_slist_free_all);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, kTotalTimeoutMs);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);  // worker threads, no SIGALRM
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response);
  if (body != nullptr) {
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) throw MirrorError(fmt::format("{}: {}", url, curl_easy_strerror(code)));
  long http_status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &http_status);
  nlohmann::json parsed = nlohmann::json::parse(response, nullptr, false);
  if (http_status != 200) {
    if (!parsed.is_discarded() && parsed.is_object() && parsed.contains("error_code")) {
      throw MirrorError(fmt::format("{}: HTTP {} {}: {}", url, http_status,
                                    parsed.value("error_code", ""), parsed.value("message", "")));
    }
    throw MirrorError(fmt::format("{}: HTTP {}", url, http_status));
  }
  if (parsed.is_discarded()) throw MirrorError(fmt::format("{}: the response is not JSON", url));
  return parsed;
}

nlohmann::json MlflowClient::post(const std::string& endpoint, const nlohmann::json& body) {
  const std::string text = body.dump();
  return request(uri_ + "/api/2.0/mlflow/" + endpoint, &text);
}

nlohmann::json MlflowClient::get(const std::string& endpoint, const KeyValues& query) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  std::string url = uri_ + "/api/2.0/mlflow/" + endpoint;
  char separator = '?';
  for (const auto& [key, value] : query) {
    char* escaped = curl_easy_escape(curl.get(), value.c_str(), static_cast<int>(value.size()));
    url += separator + key + "=" + (escaped != nullptr ? escaped : "");
    curl_free(escaped);
    separator = '&';
  }
  return request(url, nullptr);
}

std::string MlflowClient::experimentId(const std::string& name) {
  try {
    return get("experiments/get-by-name", {{"experiment_name", name}})
        .at("experiment")
        .at("experiment_id")
        .get<std::string>();
  } catch (const MirrorError& error) {
    if (std::string(error.what()).find("RESOURCE_DOES_NOT_EXIST") == std::string::npos) throw;
  }
  return post("experiments/create", {{"name", name}}).at("experiment_id").get<std::string>();
}

std::optional<std::string> MlflowClient::findRunByTag(const std::string& experiment_id,
                                                      const std::string& tag,
                                                      const std::string& value) {
  std::string quoted;
  for (const char c : value) quoted += c == '\'' ? std::string("\\'") : std::string(1, c);
  const auto found = post("runs/search", {{"experiment_ids", {experiment_id}},
                                          {"filter", fmt::format("tags.`{}` = '{}'", tag, quoted)},
                                          {"max_results", 1}});
  if (!found.contains("runs") || found["runs"].empty()) return std::nullopt;
  return found["runs"][0].at("info").at("run_id").get<std::string>();
}

std::string MlflowClient::createRun(const std::string& experiment_id, const std::string& run_name,
                                    std::int64_t start_ms, const KeyValues& tags) {
  nlohmann::json tag_list = nlohmann::json::array();
  for (const auto& [key, value] : tags) tag_list.push_back({{"key", key}, {"value", value}});
  return post("runs/create", {{"experiment_id", experiment_id},
                              {"run_name", run_name},
                              {"start_time", start_ms},
                              {"tags", tag_list}})
      .at("run")
      .at("info")
      .at("run_id")
      .get<std::string>();
}

void MlflowClient::logBatch(const std::string& run_id, const std::vector<MlflowMetric>& metrics,
                            const KeyValues& params, const KeyValues& tags) {
  std::size_t next_metric = 0, next_param = 0, next_tag = 0;
  while (next_metric < metrics.size() || next_param < params.size() || next_tag < tags.size()) {
    nlohmann::json body = {{"run_id", run_id},
                           {"metrics", nlohmann::json::array()},
                           {"params", nlohmann::json::array()},
                           {"tags", nlohmann::json::array()}};
    std::size_t items = 0;
    for (; next_param < params.size() && body["params"].size() < kMaxParamsPerBatch; ++next_param) {
      const auto& [key, value] = params[next_param];
      body["params"].push_back({{"key", key}, {"value", value.substr(0, kMaxParamValueLength)}});
      ++items;
    }
    for (; next_tag < tags.size() && items < kMaxItemsPerBatch; ++next_tag, ++items)
      body["tags"].push_back({{"key", tags[next_tag].first}, {"value", tags[next_tag].second}});
    for (; next_metric < metrics.size() && items < kMaxItemsPerBatch; ++next_metric, ++items) {
      const auto& metric = metrics[next_metric];
      body["metrics"].push_back({{"key", metric.key},
                                 {"value", metricValue(metric.value)},
                                 {"timestamp", metric.timestamp_ms},
                                 {"step", metric.step}});
    }
    post("runs/log-batch", body);
  }
}

void MlflowClient::updateRun(const std::string& run_id, MlflowStatus status, std::int64_t end_ms) {
  nlohmann::json body = {{"run_id", run_id}, {"status", mlflowStatusName(status)}};
  if (end_ms != 0) body["end_time"] = end_ms;
  post("runs/update", body);
}

nlohmann::json MlflowClient::getRun(const std::string& run_id) {
  return get("runs/get", {{"run_id", run_id}}).at("run");
}

std::vector<MlflowMetric> MlflowClient::metricHistory(const std::string& run_id,
                                                      const std::string& key) {
  std::vector<MlflowMetric> history;
  std::string page_token;
  do {
    KeyValues query = {{"run_id", run_id}, {"metric_key", key}, {"max_results", "25000"}};
    if (!page_token.empty()) query.emplace_back("page_token", page_token);
    const auto page = get("metrics/get-history", query);
    for (const auto& metric : page.value("metrics", nlohmann::json::array())) {
      history.push_back({metric.value("key", key), metricValueOf(metric),
                         int64Field(metric, "timestamp"), int64Field(metric, "step")});
    }
    page_token = page.value("next_page_token", "");
  } while (!page_token.empty());
  return history;
}

}  // namespace ferlab::mirror
