// CPU of storing call records the way a leased settlement batch does (issue #13): batches of BATCH records, each batch
// one ledger session (a savepoint in a SQLite write group, like the gateway's batches) committed on its own, on a
// file-backed SQLite ledger (WAL, synchronous=NORMAL), one hot account. Each schema variant gets a fresh database,
// PREFILL records first, then the timed batches; variants alternate ROUNDS times so a noisy machine hits them alike.
// Usage: dotnet run -c Release -- [variant…]   (default: every variant below)
//   shipped        the schema as migrated, records stored by the ledger's own code for a batch (CreditLedger.InsertBatchRecordsAsync,
//                  or record by record with InsertCallRecordAsync in builds without it)
//   per-record     the same, always record by record (CreditLedger.InsertCallRecordAsync)
//   empty          the same sessions and commits without a record (what a batch costs without records)
//   no-<index>     one index of call_records dropped (e.g. no-IX_call_records_started_at_id), all-indexes-dropped: all 5 non-unique
//   no-autoinc     call_records rebuilt without AUTOINCREMENT (no sqlite_sequence update per insert)
// Env: BATCH (26, what a batch holds at 32 connections), BATCHES (600), PREFILL (50000), ROUNDS (2), NOMUTEX (0), MEMSTATUS (1).
// CPU per record = process CPU time ÷ records (the loop is the only work); the internals are reached by reflection
// because this is a tool, not a friend assembly.
using System.Diagnostics;
using System.Reflection;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

// NOMUTEX=1: SQLite in multi-thread mode (no mutex taken by every API call on a connection; the gateway's
// connections are never used by two threads at once) — set before SQLite initializes, i.e. before any connection opens.
if (Env("NOMUTEX", 0) == 1)
{
    SQLitePCL.Batteries_V2.Init();
    Console.WriteLine($"sqlite3_config(MULTITHREAD) = {SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MULTITHREAD)} (0: ok)");
}
// MEMSTATUS=0: SQLite keeps no memory statistics (no global mutex around each of its mallocs).
if (Env("MEMSTATUS", 1) == 0)
{
    SQLitePCL.Batteries_V2.Init();
    Console.WriteLine($"sqlite3_config(MEMSTATUS, 0) = {SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MEMSTATUS, 0)} (0: ok)");
}
var batch = Env("BATCH", 26);
var batches = Env("BATCHES", 600);
var prefill = Env("PREFILL", 50_000);
var rounds = Env("ROUNDS", 2);
string[] indexes =
[
    "IX_call_records_account_id_feature_id", "IX_call_records_account_id_id", "IX_call_records_account_id_started_at",
    "IX_call_records_account_id_task_id", "IX_call_records_started_at_id",
];
var variants = args.Length > 0 ? args : ["shipped", "per-record", "empty", "no-autoinc", "all-indexes-dropped", .. indexes.Select(i => "no-" + i)];

var begin = typeof(CreditLedger).GetMethod("BeginAsync", BindingFlags.NonPublic | BindingFlags.Instance)!;
var insert = typeof(CreditLedger).GetMethod("InsertCallRecordAsync", BindingFlags.NonPublic | BindingFlags.Static)!;
// The batch's way of storing its records, where the build has one (multi-row statements); else one record at a time.
var insertAll = typeof(CreditLedger).GetMethod("InsertBatchRecordsAsync", BindingFlags.NonPublic | BindingFlags.Static);
var session = begin.ReturnType.GetGenericArguments()[0];
var commit = session.GetMethod("CommitAsync")!;
var dispose = session.GetMethod("DisposeAsync")!;

var account = Guid.CreateVersion7();
var key = Guid.CreateVersion7();
var results = variants.ToDictionary(v => v, _ => new List<double>());
for (var round = 0; round < rounds; round++)
{
    foreach (var variant in variants) results[variant].Add(await RunAsync(variant));
}
var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
Console.WriteLine($"CPU µs per record ({batch} records per batch, {batches} batches, {prefill} records before; load average {load}):");
var baseline = results.TryGetValue("shipped", out var s) ? s.Average() : double.NaN;
foreach (var (variant, runs) in results)
    Console.WriteLine($"  {variant,-44} {string.Join(" / ", runs.Select(r => r.ToString("F1"))),-24} ÷ shipped {runs.Average() / baseline:F2}");

async Task<double> RunAsync(string variant)
{
    var path = Path.Combine(Path.GetTempPath(), $"aigw-records-bench-{Environment.ProcessId}.db");
    try
    {
        var builder = new DbContextOptionsBuilder<LedgerDbContext>();
        LedgerStorageExtensions.Configure(builder, "Sqlite", $"Data Source={path}");
        var options = builder.Options;
        await using (var db = new LedgerDbContext(options))
        {
            await LedgerDatabase.InitializeAsync(db);
            if (variant == "no-autoinc")
            {
                // The same table without AUTOINCREMENT (no sqlite_sequence row to update per insert), indexes as migrated.
                var connection = db.Database.GetDbConnection();
                await db.Database.OpenConnectionAsync();
                await using var read = connection.CreateCommand();
                read.CommandText = "SELECT sql FROM sqlite_master WHERE name = 'call_records' OR (tbl_name = 'call_records' AND type = 'index' AND sql IS NOT NULL) ORDER BY type DESC";
                var ddl = new List<string>();
                await using (var reader = await read.ExecuteReaderAsync()) while (await reader.ReadAsync()) ddl.Add(reader.GetString(0));
                await db.Database.ExecuteSqlRawAsync("DROP TABLE call_records");
                foreach (var sql in ddl) await db.Database.ExecuteSqlRawAsync(sql.Replace(" AUTOINCREMENT", "", StringComparison.Ordinal));
            }
            foreach (var sql in Schema(variant)) await db.Database.ExecuteSqlRawAsync(sql);
        }
        await using var ledger = new CreditLedger(new Factory(options), Options.Create(new LedgerOptions()),
            new PlanCatalog(new StaticPlans()), TimeProvider.System);
        var store = variant != "empty";
        var n = 0;
        async Task BatchAsync()
        {
            var started = (Task)begin.Invoke(ledger, [CancellationToken.None])!;
            await started;
            var s = started.GetType().GetProperty("Result")!.GetValue(started)!;
            var records = new List<CallRecord>(batch);
            for (var i = 0; i < batch; i++) records.Add(Record(n++));
            if (store && insertAll is not null && variant != "per-record") await (Task)insertAll.Invoke(null, [s, records])!;
            else if (store) foreach (var record in records) await (Task)insert.Invoke(null, [s, record])!;
            await (Task)commit.Invoke(s, null)!;
            await (ValueTask)dispose.Invoke(s, null)!;
        }
        var storeBefore = store;
        store = true;
        for (var i = 0; i < prefill / batch; i++) await BatchAsync();
        store = storeBefore;
        for (var i = 0; i < Math.Max(300, batches / 2); i++) await BatchAsync(); // warm-up (tiered JIT)
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < batches; i++) await BatchAsync();
        return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / (batches * batch);
    }
    finally
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(path + suffix);
    }
}

IEnumerable<string> Schema(string variant)
{
    if (variant == "all-indexes-dropped") return indexes.Select(i => $"DROP INDEX \"{i}\"");
    if (variant.StartsWith("no-IX_", StringComparison.Ordinal)) return [$"DROP INDEX \"{variant[3..]}\""];
    return [];
}

// A record as a metered chat call writes it (request ids as RequestIdMiddleware makes them: time-ordered).
CallRecord Record(int i) => new()
{
    RequestId = "req_" + Guid.CreateVersion7().ToString("N"), AccountId = account, KeyId = key, Route = "openai",
    Provider = "openai", Model = "gpt-4o-mini", PricedModel = "gpt-4o-mini", Operation = "ChatCompletions", Stream = i % 2 == 0,
    InputTokens = 1200 + i % 50, OutputTokens = 300, EstimatedInputTokens = 1210, EstimatedOutputTokens = 4096,
    EstimateMicro = 2_500_000, ChargedMicro = 731_000, StatusCode = 200, UsageSource = "provider", AttemptCount = 1,
    Attempts = "primary:200", StartedAt = DateTimeOffset.UtcNow, DurationMs = 3, FirstByteMs = 1,
};

static int Env(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;
