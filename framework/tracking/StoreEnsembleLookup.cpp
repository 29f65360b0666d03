// Finding an ensemble run by name or id, for `ferlab evaluate --ensemble` (declared in
// SqliteStore.h); its members and weights come from ensembleMembers (StoreQueries.cpp).

#include "framework/tracking/SqliteStore.h"

#include <string>
#include <utility>

#include "framework/tracking/Statement.h"

namespace ferlab::tracking {

using detail::Context;
using detail::Row;
using detail::Statement;

std::string SqliteStore::findEnsembleRun(const std::string& name_or_id) const {
  const Context ctx{db_, path_, "looking up ensemble '" + name_or_id + "'"};
  // substr rather than LIKE: '_' and '%' in a prefix must not act as wildcards.
  Statement select(ctx,
                   "SELECT id, name FROM runs WHERE kind = 'ensemble' AND (name = ?1 OR "
                   "substr(id, 1, length(?1)) = ?1) ORDER BY id");
  select.bind(1, name_or_id);
  std::vector<std::pair<std::string, std::string>> matches;
  while (select.step()) {
    Row row(select);
    std::string id = row.text();
    matches.emplace_back(std::move(id), row.text());
  }
  if (matches.empty())
    throw StoreError(path_ + ": no ensemble named or with id '" + name_or_id + "'");
  for (const auto& [id, name] : matches) {
    if (id == name_or_id) return id;  // an exact id wins over prefixes and names
  }
  if (matches.size() > 1) {
    std::string list;
    for (const auto& [id, name] : matches)
      list += (list.empty() ? "" : ", ") + id + " (" + name + ")";
    throw StoreError(path_ + ": ensemble '" + name_or_id + "' is ambiguous; it matches " + list);
  }
  return matches.front().first;
}

}  // namespace ferlab::tracking
