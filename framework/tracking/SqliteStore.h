#pragma once
// The tracking store: one SQLite file (results/ferlab.db by default) that holds experiments,
// runs, their resolved configs and flattened params, per-epoch history, a per-run summary
// (best and last values), final metrics per split, confusion matrices and per-sample
// predictions for validation and test, and cross-dataset evaluations (`ferlab evaluate`).
//
// Concurrency: WAL journal and a busy timeout, every write in one BEGIN IMMEDIATE
// transaction, so several `ferlab run` processes can record into one file at once without
// "database is locked" failures. Schema: versioned (PRAGMA user_version) with forward
// migrations applied in order under an exclusive transaction, so exactly one process
// migrates. Prepared statements only (no SQL built from user strings).
// Every failure throws StoreError naming the database path and the SQLite message.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace ferlab::tracking {

/// Lifecycle: queued (known, not started) -> running -> finished | failed | interrupted. A
/// process trains a run only after claiming it (claimRun): `running` with a live owner is being
/// trained. `interrupted`: SIGINT or SIGTERM stopped it gracefully (interruptRun; schema v10).
/// A `running` run whose owner is gone (a stale heartbeat, a dead process on this host) was
/// killed. The next claimer resumes either from its last checkpoint.
enum class RunStatus { Queued, Running, Finished, Failed, Interrupted };
const char* statusName(RunStatus status);        ///< "queued" | "running" | "interrupted" ...
RunStatus parseStatus(const std::string& name);  ///< throws StoreError on unknown names

/// What produced a run (schema v7). Train: `ferlab run` trained it (epochs, checkpoints, a
/// resolved training config). Ensemble: `ferlab ensemble` averaged the stored probabilities of
/// finished runs (report/Ensemble.h): no epochs, no checkpoint, no training config; its
/// members and weights are in ensembleMembers().
enum class RunKind { Train, Ensemble };
const char* kindName(RunKind kind);          ///< "train" | "ensemble"
RunKind parseKind(const std::string& name);  ///< throws StoreError on unknown names

/// Face-alignment outcomes over the run's whole dataset (data.align = "eyes"): images
/// aligned on an eye pair, images with a face but no eye pair (cropped to the face box), and
/// images with no face (left unaligned). -1 while unknown or when alignment is off.
struct AlignmentCounts {
  std::int64_t aligned = -1, face_only = -1, none = -1;
};

/// The process that holds (or last held) a run's claim (schema v9). Empty host while nobody
/// ever claimed it.
struct RunOwner {
  std::string host;      ///< gethostname() of the claiming process
  std::int64_t pid = 0;  ///< its process id on that host
  bool holds = false;    ///< the claim is held now (running, owner token set)
  /// Unix time (seconds, UTC, SQLite's clock) of the last heartbeat; -1 when none.
  double heartbeat_at = -1;
  /// Seconds since that heartbeat when the row was read (SQLite's clock); -1 when none.
  double heartbeat_age_s = -1;
};

/// Identity and provenance of one run (one grid cell).
struct RunRecord {
  std::string id;          ///< 12 hex digits: hash of experiment name + config hash
  std::string experiment;  ///< experiment (grid) name
  std::string name;        ///< e.g. "quickstart[name=vggnet]"
  RunStatus status = RunStatus::Queued;
  RunKind kind = RunKind::Train;
  int grid_index = 0;
  std::string config_json;  ///< fully resolved config (ConfigLoader's resolved_json)
  std::string config_hash;
  std::int64_t seed = 0;
  std::string backbone;  ///< model.name
  /// Flattened resolved config ("train.lr", "0.001"), and the subset the grid varies.
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::pair<std::string, std::string>> grid_values;
  // Provenance, filled when the run starts.
  std::string git_commit, ferlab_version, torch_version, opencv_version, device;
  std::string dataset_key;
  std::string started_at, ended_at;  ///< ISO 8601 UTC; empty while unknown
  std::string error;                 ///< failure message of a failed run
  /// 1: the backbone started from a weight file, 0: from random initialisation although it
  /// is an ImageNet backbone, -1: not applicable (a network trained from scratch).
  int pretrained = -1;
  /// Backbone tensors (parameters and buffers) the weight file filled, of the backbone's
  /// total: counts of tensors, not of scalars. -1 when no weight file was loaded (a network
  /// trained from scratch, a backbone from random initialisation) or for runs recorded
  /// before schema v5.
  std::int64_t weights_loaded = -1, weights_total = -1;
  AlignmentCounts alignment;  ///< recorded by markRunning
  /// The precision the run trained in: "fp32" | "bf16" | "fp16" (train.precision, or fp32
  /// where the device lacked it); empty when unknown (runs recorded before schema v4).
  std::string precision;
  RunOwner owner;  ///< who claimed the run last (claimRun); not archived
};

/// The per-run summary kept apart from the epoch history: best (by the monitored validation
/// metric) and last values, final test metrics and throughput. NaN/-1 while unknown.
struct RunSummary {
  int best_epoch = -1;
  double best_val_accuracy = -1, best_val_macro_f1 = -1, best_val_loss = -1;
  int last_epoch = -1;
  double last_val_accuracy = -1, last_train_loss = -1, last_train_accuracy = -1;
  double test_accuracy = -1, test_macro_f1 = -1;  ///< PrivateTest, best checkpoint
  double images_per_sec = -1;  ///< mean training throughput over epochs after the first
  /// Wall time of the run, seconds. For a run resumed after an interruption: the finishing
  /// attempt's whole wall time plus the recorded `EpochRecord::seconds` of the epochs kept from
  /// earlier attempts (their start-up and any epoch lost to the interruption are not counted).
  double duration_s = -1;
};

/// One epoch of training (one row of the history), recorded in one transaction.
struct EpochRecord {
  int epoch = 0;  ///< 1-based
  std::string phase = "train";
  double train_loss = 0, train_accuracy = 0;  ///< accuracies are fractions in [0, 1]
  double val_loss = 0, val_accuracy = 0, val_macro_f1 = 0;
  double lr = 0;
  double images_per_sec = 0;  ///< training images per second of this epoch
  double seconds = 0;         ///< wall time of the epoch including validation
  /// Training samples per class that this epoch presented to the model, after balancing
  /// (index = class). Empty when unknown (stores written before schema v3).
  std::vector<std::int64_t> class_counts;
};

struct ClassMetrics {
  std::string name;
  double precision = 0, recall = 0, f1 = 0;
  std::int64_t support = 0;
};

/// Final metrics of one split ("PublicTest" or "PrivateTest") on the selected checkpoint.
struct SplitMetrics {
  std::string split;
  double loss = 0, accuracy = 0, macro_f1 = 0;
  std::vector<ClassMetrics> classes;
  /// Row-major k x k counts, row = true class, column = predicted class.
  std::vector<std::int64_t> confusion;
};

/// One sample's prediction (stored for PublicTest and PrivateTest).
struct Prediction {
  std::int64_t sample_index = 0;  ///< index in the dataset
  std::string sample_id;          ///< Dataset::sample_ids entry
  std::int64_t label = 0, predicted = 0;
  std::vector<float> probabilities;  ///< softmax, one per class (stored as a float32 blob)
};

/// One phase of a freeze / fine-tune schedule, as it ran.
struct PhaseRecord {
  int index = 0;  ///< from 0, in training order
  std::string name;
  int first_epoch = 1;  ///< 1-based
  int epochs = 0;
  std::int64_t trainable_params = 0, total_params = 0;  ///< scalar parameters
};

/// The experiment a run belongs to, as the store keeps it.
struct ExperimentInfo {
  std::string name;
  std::string source;                  ///< the experiment file it was loaded from
  std::vector<std::string> grid_keys;  ///< dotted keys, in grid order
};

struct RunArchive;  // RunArchive.h

/// What importing an archive did (SqliteStore::importRun).
enum class ImportOutcome {
  Imported,        ///< the store had no run with this id
  Replaced,        ///< the store had it unfinished (queued, running or failed): replaced
  AlreadyPresent,  ///< the store had it finished: left exactly as it was
};

/// What merging a shard's run into a store did (SqliteStore::mergeRun).
enum class MergeOutcome {
  Added,      ///< the store had no run with this id
  Replaced,   ///< the store had it unfinished, and the shard's record differs (a requeued
              ///< task's later state, or its finished run): replaced
  Unchanged,  ///< the store has it finished, or exactly as the shard has it: nothing written
};

/// One member of an ensemble run and its weight (weights of an ensemble sum to 1).
struct EnsembleMember {
  std::string run_id;
  double weight = 0;
};

/// One sample of a cross-dataset evaluation (`ferlab evaluate`).
struct EvaluationPrediction {
  std::string sample_id;             ///< path relative to the dataset root, or "<file>.csv:<line>"
  std::int64_t label = 0;            ///< the model class its dataset class maps to
  std::int64_t predicted = 0;        ///< argmax over all of the model's classes
  std::int64_t restricted = 0;       ///< argmax over the dataset's classes only
  std::vector<float> probabilities;  ///< softmax over all of the model's classes
};

/// A run's selected checkpoint evaluated on another dataset (`ferlab evaluate`,
/// train/CrossDatasetEvaluation.h). Classes are the model's: `classes` lists those the
/// dataset holds (after its class map), and every per-class value is for one of them.
struct EvaluationRecord {
  std::string run_id;
  std::string dataset;       ///< the dataset's name: its folder's (or CSV file's) name
  std::string dataset_path;  ///< as given to `ferlab evaluate`
  std::string format;        ///< "folder" | "fer2013" | "csv"
  std::string content_hash;  ///< of the files read (data/CrossDataset.h), 16 hex digits
  /// The class map as canonical JSON: {"anger":"angry","contempt":null,...} (dataset class ->
  /// model class, null = dropped), keys sorted.
  std::string class_map;
  std::vector<std::string> class_names;  ///< the model's classes, index = class
  std::vector<int> classes;              ///< model classes the dataset holds, ascending
  std::int64_t images = 0;               ///< images evaluated
  std::int64_t dropped_images = 0;       ///< images of dropped classes, not evaluated
  double accuracy = 0;                   ///< fraction: argmax over all classes is the label
  double restricted_accuracy = 0;        ///< fraction: argmax over `classes` only is the label
  double macro_f1 = 0;                   ///< mean F1 over `classes` (unrestricted predictions)
  /// One per entry of `classes`, same order (unrestricted predictions).
  std::vector<ClassMetrics> class_metrics;
  /// Row-major classes.size() x class_names.size() counts: row = true class (in `classes`
  /// order), column = predicted class (unrestricted, every model class).
  std::vector<std::int64_t> confusion;
  AlignmentCounts alignment;  ///< of the dataset's images; -1 when the run does not align
  std::string evaluated_at;   ///< ISO 8601 UTC, set by recordEvaluation
  /// Per sample, in dataset order; filled by evaluations() only when asked for.
  std::vector<EvaluationPrediction> predictions;
};

/// A process asking for a run (claimRun): who it is, and its token for this one claim.
struct ClaimRequest {
  std::string run_id;
  std::string host;      ///< gethostname() of the claiming process
  std::int64_t pid = 0;  ///< its process id
  std::string token;     ///< unique to this claim (newClaimToken()); writes check it
  /// A claim whose heartbeat is older than this many seconds is taken over: its owner died
  /// without releasing it (kill -9, a lost node).
  double stale_after_s = 120;
  /// A failed run is claimed again (restarted from scratch) only when it failed before this
  /// instant (ISO 8601 UTC, as ended_at): failures of earlier invocations are retried, one of
  /// this invocation (another worker's) is not retried in a loop. Empty: never.
  std::string retry_failed_before;
};

/// What claimRun found, and did.
enum class ClaimResult {
  Claimed,       ///< queued, unowned or failed before: it is the caller's now
  TakenOver,     ///< running under an owner that is gone: the caller's now, to resume
  HeldByOther,   ///< a live owner holds it: skip it
  Finished,      ///< finished (or not a training run): nothing to do
  FailedLately,  ///< failed after retry_failed_before: not retried in this invocation
};
const char* claimResultName(ClaimResult result);  ///< "claimed" | "taken over" | ...

struct Claim {
  ClaimResult result = ClaimResult::HeldByOther;
  RunStatus previous = RunStatus::Queued;  ///< the status before the claim
  RunOwner holder;                         ///< the owner found (before a takeover, the old one)
};

/// A fresh claim token: 32 hex digits from the system's random device.
std::string newClaimToken();
/// gethostname(), or "localhost" when it fails.
std::string thisHost();

/// Row for `ferlab ls` and reports: the record plus its summary.
struct RunRow {
  RunRecord record;
  RunSummary summary;
};

/// How SqliteStore opens its file.
enum class OpenMode {
  /// Opens or creates the store (parent folders created), sets WAL, migrates the schema.
  /// For `ferlab run` and anything else that records.
  ReadWrite,
  /// For the commands that only read (ls, show, report, export, plot): never creates the
  /// file or its folders (a missing file throws StoreError "<path>: no tracking store here"),
  /// opens SQLite read-only (`mode=ro` URI), so a read-only file works, and in a folder this
  /// process cannot write (where SQLite could not create the WAL's -shm file) it opens the
  /// file as immutable (`immutable=1`) when it has no pending WAL: a store nobody can write
  /// there cannot change under the reader. A store of an older schema is migrated first
  /// (through a read-write connection) when the file and its folder are writable, as any
  /// opening for writing would; otherwise it throws StoreError naming both versions.
  /// Writes through a read-only store throw StoreError (SQLite's "readonly database").
  /// Opening a WAL store read-only in a writable folder may leave its -wal and -shm files.
  ReadOnly,
};

/// The journal of a store opened read-write.
enum class Journal {
  /// Write-ahead log (https://sqlite.org/wal.html): readers never block the writers, so many
  /// processes of one machine record into one store. Its shared memory needs every process on
  /// one host: opening a WAL store on a network filesystem (core/FilesystemType.h) throws
  /// StoreError pointing to shard stores instead of risking corruption.
  Wal,
  /// Rollback journal (journal_mode=DELETE): for a shard store that one process writes (a
  /// Slurm array task's, merged afterwards by `ferlab merge`), where a network filesystem's
  /// missing shared memory does not matter.
  Rollback,
};

class SqliteStore {
 public:
  /// Opens the store at `path` as `mode` says (see OpenMode): read-write sets `journal` and
  /// migrates the schema to the current version; both modes set a 60 s busy timeout.
  /// Throws StoreError naming `path` (and, for WAL on a network filesystem, its type; for a
  /// read-write open of a store or folder that cannot be written, the reason, e.g. a
  /// read-only mount).
  explicit SqliteStore(const std::string& path, OpenMode mode = OpenMode::ReadWrite,
                       Journal journal = Journal::Wal);
  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  static int currentSchemaVersion();
  int schemaVersion() const;
  /// This store's identity: 32 hex digits made once, when the store was created or migrated
  /// to schema v6. Copies of the file share it. Throws StoreError when it is missing.
  std::string storeId() const;
  const std::string& path() const { return path_; }
  bool readOnly() const { return read_only_; }

  /// Creates the experiment if new; updates its source and grid keys otherwise.
  void ensureExperiment(const std::string& name, const std::string& source,
                        const std::vector<std::string>& grid_keys);

  /// Inserts the run as queued if its id is unknown; returns the stored record either way.
  RunRecord ensureRun(const RunRecord& run);
  std::optional<RunRecord> findRun(const std::string& id) const;
  /// Marks the run running and records its provenance (started_at, versions, device,
  /// pretrained and weight counts, alignment, precision).
  void markRunning(const RunRecord& run);
  /// Resume support: deletes epoch rows after `epoch` (those not covered by the checkpoint
  /// the run restarts from) and clears final metrics and predictions.
  void truncateRun(const std::string& id, int epoch);

  /// One transaction: the epoch row plus the summary columns it changes.
  void recordEpoch(const std::string& id, const EpochRecord& epoch, const RunSummary& summary);
  /// One transaction: final split metrics, confusion matrices, predictions, the summary,
  /// status finished and ended_at.
  void finishRun(const std::string& id, const RunSummary& summary,
                 const std::vector<SplitMetrics>& splits,
                 const std::vector<std::pair<std::string, std::vector<Prediction>>>& predictions);
  /// Records the hash (core::fileHashHex) of the checkpoint that commits `epoch` of run `id`,
  /// before that file is renamed into place (train/Checkpoints.h). Checks the claim as the
  /// other writes do.
  void recordCheckpointHash(const std::string& id, int epoch, const std::string& hash);
  /// What the store knows of run `id`'s checkpoints: whether any epoch recorded a hash (runs
  /// trained before schema v11 have none), and whether one of them is `hash`.
  struct CheckpointKnowledge {
    bool any_recorded = false;
    bool matches = false;
  };
  CheckpointKnowledge checkpointKnowledge(const std::string& id, const std::string& hash) const;
  /// Records (or replaces) one phase of the run's freeze / fine-tune schedule.
  void recordPhase(const std::string& id, const PhaseRecord& phase);
  /// Status failed, the message and ended_at; history already recorded is kept.
  void failRun(const std::string& id, const std::string& message);
  /// Writes an archived finished run (RunArchive.h) in one transaction, with its original
  /// timestamps, provenance and every row; creates its experiment when the store lacks it
  /// (an existing experiment keeps its source). A finished run with the same id is left as
  /// it is; an unfinished one is replaced. Throws StoreError.
  ImportOutcome importRun(const RunArchive& archive);

  /// Merges a run of a shard store (snapshotRun) into this one, in one transaction: added when
  /// new; an unfinished run here is replaced by the shard's when they differ (status, last
  /// epoch, end time or error); a finished run here is left as it is. Merging the same shard
  /// twice changes nothing. A queued run carries nothing and throws StoreError.
  MergeOutcome mergeRun(const RunArchive& archive);

  /// One transaction: records `run` as a finished run of kind Ensemble with its members,
  /// summary, final split metrics and predictions (as finishRun). Recording the same id again
  /// replaces the record, members and results (idempotent), never duplicates them; the
  /// experiment row is created when missing and otherwise left as it is. Throws StoreError
  /// when the id belongs to a training run, or a member is listed twice.
  void recordEnsemble(
      const RunRecord& run, const RunSummary& summary, const std::vector<EnsembleMember>& members,
      const std::vector<SplitMetrics>& splits,
      const std::vector<std::pair<std::string, std::vector<Prediction>>>& predictions);

  /// Claims run `request.run_id` for the caller in one BEGIN IMMEDIATE transaction: reads the
  /// row, decides (ClaimResult), and takes it with a conditional UPDATE that must change
  /// exactly one row (changes() == 1) — status running, owner host, pid, token, heartbeat now.
  /// A running run's owner is gone when it has no token (released, or recorded before
  /// claims), its heartbeat is older than stale_after_s, or it ran on this host under a pid
  /// that no longer exists. Throws StoreError for an unknown run.
  Claim claimRun(const ClaimRequest& request);
  /// Sets the heartbeat of the claim `token` holds on run `id` to now; false when the token no
  /// longer holds it (taken over as stale, or released), so the caller must stop writing.
  bool renewClaim(const std::string& id, const std::string& token);
  /// Gives the claim up without finishing: the run stays running with no owner token, so the
  /// next claimer resumes it at once. No-op when `token` does not hold it.
  void releaseClaim(const std::string& id, const std::string& token);
  /// A graceful stop (SIGINT/SIGTERM): status interrupted, `reason` in error, ended_at now, the
  /// claim released; its history and checkpoints stay for the next claimer to resume. No-op
  /// when `token` does not hold the run.
  void interruptRun(const std::string& id, const std::string& token, const std::string& reason);
  /// From now on every write to a run's lifecycle and history through this connection
  /// (markRunning, truncateRun, recordEpoch, recordPhase, finishRun, failRun) first checks,
  /// inside its transaction, that `token` holds the run's claim, and throws ClaimLost
  /// (writing nothing) when it does not. Empty (the default): no check. finishRun and failRun
  /// clear the token (the run is no longer held) and keep host and pid as provenance.
  void writeAsOwner(std::string token) { owner_token_ = std::move(token); }

  /// Runs of `experiment` (all runs when empty), in grid order within an experiment, its
  /// ensembles after its training runs.
  std::vector<RunRow> listRuns(const std::string& experiment = "") const;
  /// The run with this id, or the unique run whose id starts with it. Throws StoreError when
  /// none or several match.
  RunRow getRun(const std::string& id_or_prefix) const;
  std::vector<EpochRecord> epochs(const std::string& id) const;
  std::vector<SplitMetrics> splitMetrics(const std::string& id) const;
  std::vector<PhaseRecord> phases(const std::string& id) const;
  /// The experiment's stored source and grid keys; nullopt when the store has none by `name`.
  std::optional<ExperimentInfo> experimentInfo(const std::string& name) const;
  std::vector<Prediction> predictions(const std::string& id, const std::string& split) const;
  /// The members of ensemble run `id`, heaviest first (ties by run id); empty for a training
  /// run or an unknown id.
  std::vector<EnsembleMember> ensembleMembers(const std::string& id) const;

  /// Records a cross-dataset evaluation of run `evaluation.run_id` in one transaction. An
  /// earlier evaluation of the same run on the same content_hash with the same class_map is
  /// replaced, not duplicated (re-evaluating is idempotent); returns true when it replaced
  /// one. Throws StoreError (unknown run; per-class, confusion or prediction sizes that do
  /// not fit `classes` and `class_names`).
  bool recordEvaluation(const EvaluationRecord& evaluation);
  /// The cross-dataset evaluations of run `id`, ordered by dataset name then time; per-sample
  /// predictions only `with_predictions` (thousands of rows per evaluation).
  std::vector<EvaluationRecord> evaluations(const std::string& id,
                                            bool with_predictions = false) const;

  /// The id of the ensemble run (runs.kind = 'ensemble') whose id, unique id prefix or name is
  /// `name_or_id`. Throws StoreError naming it when none or several match.
  std::string findEnsembleRun(const std::string& name_or_id) const;

 private:
  void openReadOnly();

  /// Throws ClaimLost unless owner_token_ is empty or holds run `id` (inside a transaction).
  void requireOwnership(const std::string& id) const;

  std::string path_;
  bool read_only_ = false;
  std::string owner_token_;
  sqlite3* db_ = nullptr;
};

}  // namespace ferlab::tracking
