// CPU of one leased settlement batch on SQLite, in process: CreditLedger.SettleLeasedBatchAsync over a file-backed
// ledger set up as the gateway sets it up (migrations, WAL, the gateway's pragmas and connection pool, group commit),
// one account with a large grant and this instance's lease. Times batches of leased settlements of several sizes,
// with and without the call records riding in them (the records are another part's; the difference tells them apart),
// by this process's CPU time (getrusage) per call — SQLite work runs in process, so that is all of it.
// Usage: run.sh [calls per size, default 20000] [sizes, default 1,8,26,64] [modes, default money,records]
// (LEDGER_BATCH_PER_ROW=1: the statement-per-row path; LEDGER_STATEMENT_TIMERS=1 with statement-timers.patch applied: CPU per SQL text.)
using System.Diagnostics;
using System.Runtime.InteropServices;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

var calls = args.Length > 0 ? int.Parse(args[0]) : 20_000;
var sizes = (args.Length > 1 ? args[1] : "1,8,26,64").Split(',').Select(int.Parse).ToArray();
var modes = (args.Length > 2 ? args[2] : "money,records").Split(',');
var path = Path.Combine(Environment.GetEnvironmentVariable("LEDGER_BATCH_DIR") ?? Path.GetTempPath(), $"aigw-ledger-batch-{Environment.ProcessId}.db");
try
{
    var builder = new DbContextOptionsBuilder<LedgerDbContext>();
    var pg = Environment.GetEnvironmentVariable("LEDGER_BATCH_PG");
    if (pg is not null) LedgerStorageExtensions.Configure(builder, "Postgres", LedgerDatabase.PreparePostgresConnectionString(pg));
    else LedgerStorageExtensions.Configure(builder, "Sqlite", $"Data Source={path}");
    var options = builder.Options;
    await using (var db = new LedgerDbContext(options)) await LedgerDatabase.InitializeAsync(db);
    var ledgerOptions = new LedgerOptions { Leases = true };
    await using var ledger = new CreditLedger(new Factory(options), Options.Create(ledgerOptions), new PlanCatalog(new StaticPlans()), TimeProvider.System);
    // LEDGER_BATCH_PER_ROW=1: the statement-per-row path (what SQLite ran before the set-based rows), for a before/after in one run.
    ledger.SqliteSetBasedSettlements = Environment.GetEnvironmentVariable("LEDGER_BATCH_PER_ROW") != "1";
    var account = new Account { Id = Guid.NewGuid(), Name = "bench", CreatedAt = DateTimeOffset.UtcNow };
    await using (var db = new LedgerDbContext(options))
    {
        db.Accounts.Add(account);
        await db.SaveChangesAsync();
    }
    // As bench/Metering does: one large bonus grant; the instance's lease taken from it.
    await ledger.GrantAsync(account.Id, CreditKinds.Bonus, Credits.FromCredits(100_000_000), null, null, "bench", null);
    const string Instance = "bench-instance";

    var sequence = 0;
    async Task RunAsync(int size, int batches, bool records)
    {
        for (var b = 0; b < batches; b++)
        {
            if (b % 200 == 0)
            {
                // Keep the lease alive and large (the gateway renews it about once a second).
                await ledger.ResizeLeaseAsync(account.Id, Instance, 0, Credits.FromCredits(1_000_000).Micro, 1, 0.5, 1, returnOnly: false, CancellationToken.None);
            }
            var items = new List<CreditLedger.LeasedSettlement>(size);
            for (var i = 0; i < size; i++)
            {
                var request = "req_" + Guid.CreateVersion7().ToString("N");
                const long Actual = 731_000, Held = 1_500_000;
                items.Add(new CreditLedger.LeasedSettlement(account.Id, request, Held, Actual, new CallScope("openai/gpt-4o", "text"), Instance, Actual,
                    records ? Record(account.Id, request) : null));
                sequence++;
            }
            var result = await ledger.SettleLeasedBatchAsync(items, []);
            if (result.Settled.Any(r => r.Status != SettleStatus.Settled)) throw new InvalidOperationException("a settlement failed");
        }
    }

    // Every shape runs before anything is measured (tiered JIT: instrumented, then optimized in the background).
    foreach (var size in sizes)
        foreach (var mode in modes)
            await RunAsync(size, Math.Max(50, 4000 / size), mode == "records");
    await Task.Delay(1000);
    foreach (var size in sizes)
        foreach (var mode in modes)
            await RunAsync(size, Math.Max(50, 4000 / size), mode == "records");

    Console.WriteLine($"{"batch size",10} {"mode",8} {"calls",7} {"CPU µs/call",12} {"wall µs/call",13} {"CPU µs/batch",13} {"tx",6}");
    for (var round = 0; round < 2; round++)
    {
        foreach (var size in sizes)
        {
            foreach (var mode in modes)
            {
                var batches = Math.Max(1, calls / size);
                var tx = ledger.Transactions;
                var cpu = ProcessCpuMicros();
                var wall = Stopwatch.StartNew();
                await RunAsync(size, batches, mode == "records");
                wall.Stop();
                var spent = ProcessCpuMicros() - cpu;
                var n = batches * size;
                Console.WriteLine($"{size,10} {mode,8} {n,7} {spent / (double)n,12:F1} {wall.Elapsed.TotalMicroseconds / n,13:F1} {spent / (double)batches,13:F0} {ledger.Transactions - tx,6}");
            }
        }
    }
    PrintStatementTimers(sequence);
    var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
    Console.WriteLine($"{(ledger.SqliteSetBasedSettlements ? "set-based rows" : "statement per row")}; load average {load}; {sequence} settlements written; database {(File.Exists(path) ? new FileInfo(path).Length / 1024 : 0)} KiB");
}
finally
{
    SqliteConnection.ClearAllPools();
    foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(path + suffix);
}

// With bench/LedgerBatch/statement-timers.patch applied and LEDGER_STATEMENT_TIMERS=1: thread CPU per SQL text.
static void PrintStatementTimers(long calls)
{
    var type = typeof(CreditLedger).Assembly.GetType("AiGateway.Storage.StatementTimers");
    if (type?.GetField("Stats")?.GetValue(null) is not System.Collections.Concurrent.ConcurrentDictionary<string, long[]> stats || stats.IsEmpty) return;
    Console.WriteLine($"{"ns/call",9} {"count/call",10} {"ns/exec",8}  statement (per settlement written: every size and mode, warm-up included)");
    foreach (var (sql, s) in stats.OrderByDescending(kv => kv.Value[1]))
        Console.WriteLine($"{s[1] / (double)calls,9:F0} {s[0] / (double)calls,10:F3} {s[1] / (double)s[0],8:F0}  {sql}");
}

static CallRecord Record(Guid account, string requestId) => new()
{
    RequestId = requestId, AccountId = account, KeyId = Guid.NewGuid(), Route = "openai", Provider = "openai", Model = "gpt-4o",
    PricedModel = "openai/gpt-4o", Operation = "OpenAiChatCompletions", InputTokens = 12, OutputTokens = 9, EstimatedInputTokens = 12,
    EstimatedOutputTokens = 256, EstimateMicro = 1_500_000, ChargedMicro = 731_000, StatusCode = 200, UsageSource = "provider",
    AttemptCount = 1, Attempts = "[\"primary:200\"]", StartedAt = DateTimeOffset.UtcNow, DurationMs = 1,
};

// Process CPU time (user + system) in microseconds: the batch's commit may run on another thread than its caller.
static long ProcessCpuMicros()
{
    if (getrusage(0, out var usage) != 0) throw new InvalidOperationException("getrusage failed");
    return usage.UserSec * 1_000_000 + usage.UserUsec + usage.SysSec * 1_000_000 + usage.SysUsec;
}

[DllImport("libc", SetLastError = true)]
static extern int getrusage(int who, out RUsage usage);

[StructLayout(LayoutKind.Sequential)]
struct RUsage
{
    public long UserSec, UserUsec, SysSec, SysUsec;
    [MarshalAs(UnmanagedType.ByValArray, SizeConst = 14)] public long[] Rest;
}
