// Reserve+settle throughput of the credit ledger on SQLite (file, WAL, synchronous=NORMAL) and PostgreSQL.
// Usage: dotnet run -c Release -- [sqlite|postgres|all] [pairs] [workers]
using System.Diagnostics;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

var which = args.Length > 0 ? args[0] : "all";
var pairs = args.Length > 1 ? int.Parse(args[1]) : 20_000;
var workers = args.Length > 2 ? int.Parse(args[2]) : 1;
var postgresServer = Environment.GetEnvironmentVariable("AIGATEWAY_TEST_POSTGRES") is { Length: > 0 } pg
    ? pg : "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";

if (which is "sqlite" or "all")
{
    var path = Path.Combine(Path.GetTempPath(), $"aigw-ledger-bench-{Environment.ProcessId}.db");
    try
    {
        await RunAsync("SQLite (file, WAL, synchronous=NORMAL)", "Sqlite", $"Data Source={path}", pairs, workers);
    }
    finally
    {
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(path + suffix);
    }
}
if (which is "postgres" or "all")
{
    var database = $"aigw_ledger_bench_{Environment.ProcessId}";
    await PostgresAdminAsync(postgresServer, $"CREATE DATABASE \"{database}\"");
    try
    {
        var cs = new NpgsqlConnectionStringBuilder(postgresServer) { Database = database }.ToString();
        await RunAsync("PostgreSQL 15 (localhost, default durability)", "Postgres", cs, pairs, workers);
    }
    finally
    {
        NpgsqlConnection.ClearAllPools();
        await PostgresAdminAsync(postgresServer, $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
    }
}

static async Task RunAsync(string label, string provider, string connectionString, int pairs, int workers)
{
    var builder = new DbContextOptionsBuilder<LedgerDbContext>();
    LedgerStorageExtensions.Configure(builder, provider, connectionString);
    var options = builder.Options;
    await using (var db = new LedgerDbContext(options)) await LedgerDatabase.InitializeAsync(db);

    var ledger = new CreditLedger(new Factory(options), Options.Create(new LedgerOptions()),
        new PlanCatalog(new StaticPlans()), TimeProvider.System, Notifications());
    var accounts = new List<Guid>();
    await using (var db = new LedgerDbContext(options))
    {
        for (var w = 0; w < workers; w++)
        {
            var account = new Account { Id = Guid.NewGuid(), Name = $"bench-{w}", CreatedAt = DateTimeOffset.UtcNow };
            db.Accounts.Add(account);
            accounts.Add(account.Id);
        }
        await db.SaveChangesAsync();
    }
    foreach (var account in accounts)
    {
        // Several lots so the settle really walks a burn-down order.
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(1_000_000), null, null, "bench pack", null);
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromCredits(3), null, 90, "bench bonus", null);
        await ledger.GrantAsync(account, CreditKinds.Referral, Credits.FromCredits(2), null, 30, "bench referral", null);
    }

    async Task PairsAsync(Guid account, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var request = $"{prefix}-{i}";
            var reserve = await ledger.ReserveAsync(account, Credits.FromDecimal(1.5m), request);
            if (!reserve.Succeeded) throw new InvalidOperationException($"reserve failed: {reserve.Status}");
            await ledger.SettleAsync(request, Credits.FromDecimal(0.731m));
        }
    }

    await PairsAsync(accounts[0], "warmup", Math.Min(1000, pairs / 10));
    var perWorker = pairs / workers;
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var stopwatch = Stopwatch.StartNew();
    await Task.WhenAll(accounts.Select((account, w) => Task.Run(() => PairsAsync(account, $"run-{w}", perWorker))));
    stopwatch.Stop();
    // CPU time of this process per pair: less sensitive than wall time to other jobs on a shared machine
    // (for SQLite it is all of the work; for PostgreSQL the server's share is not included).
    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    var total = perWorker * workers;
    // The machine is shared: the load average says how much the figure was disturbed.
    var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
    Console.WriteLine($"{label}: {total} reserve+settle pairs, {workers} worker(s): {stopwatch.Elapsed.TotalSeconds:F2} s, " +
        $"{total / stopwatch.Elapsed.TotalSeconds:F0} pairs/s ({stopwatch.Elapsed.TotalMilliseconds * 1000 / total:F0} µs per pair), " +
        $"load average {load} on {Environment.ProcessorCount} cores; client CPU {cpu.TotalMilliseconds * 1000 / (perWorker * workers):F0} µs per pair " +
        $"= {(perWorker * workers) / cpu.TotalSeconds:F0} pairs per CPU-second");
}

// LEDGER_NOTIFICATIONS=1: balance notifications on (an endpoint and a threshold no settle here crosses), so every settle
// reads the account's notification state with its lock and checks the threshold — the cost the hot path pays when nothing fires.
static AiGateway.Notifications.NotificationOutbox? Notifications() =>
    Environment.GetEnvironmentVariable("LEDGER_NOTIFICATIONS") != "1" ? null : new(Options.Create(new AiGateway.Notifications.NotificationOptions
    {
        Endpoints = [new() { Name = "bench", Url = "http://127.0.0.1:9/", Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }],
        LowBalanceCredits = 1,
    }));

static async Task PostgresAdminAsync(string server, string sql)
{
    await using var connection = new NpgsqlConnection(server);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    await command.ExecuteNonQueryAsync();
}
