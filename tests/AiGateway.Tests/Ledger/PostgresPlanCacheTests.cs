using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit.Abstractions;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// The ledger's statements are prepared on PostgreSQL (<c>Max Auto Prepare</c>), so the server should plan each of them
/// a few times and then reuse the plan. Three of a settlement batch's reads (its account lock, totals and leases) were
/// planned anew on every execution: for <c>= ANY(@ids)</c> with one account the plan cache estimated a custom plan
/// cheaper than the generic one and never switched (≈ 0.2 ms of the server's CPU per lone call,
/// <c>bench/Metering/pg-statements.sh</c>), and with this test's few rows (a young database) the write linking the
/// holds to their charges as well. Counted with <c>pg_stat_statements</c> in this class's own database, which
/// <c>tests/scripts/start-postgres.sh</c> makes the server preload (with <c>track_planning</c> on).
/// </summary>
public sealed class PostgresPlanCacheTests(PostgresLedgerFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresLedgerFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task OneAccountSettlementBatches_NoStatementIsPlannedOnEveryCall()
    {
        await using var db = new LedgerDbContext(postgres.Options);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await connection.OpenAsync();
        await EnsureStatementStatisticsAsync(connection);

        var ledger = postgres.CreateLedger(new ManualTimeProvider(Start), o => o.Leases = true);
        var tag = $"plan-{Guid.NewGuid():N}";
        var account = await postgres.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromDecimal(10_000), null, null, $"{tag}-base", null);
        await ledger.ResizeLeaseAsync(account, tag, 0, Credits.FromDecimal(1_000).Micro, 1, 0.5, 1, returnOnly: false, CancellationToken.None);
        var n = 0;
        async Task BatchAsync()
        {
            var item = new CreditLedger.LeasedSettlement(account, $"{tag}-{n++}", Credits.FromDecimal(3).Micro, Credits.FromDecimal(2).Micro, null, tag,
                Credits.FromDecimal(2).Micro);
            var result = await ledger.SettleLeasedBatchAsync([item], []);
            Assert.Equal(SettleStatus.Settled, result.Settled[0].Status);
        }

        // Npgsql prepares a statement at its fifth use, PostgreSQL's plan cache decides after five custom plans.
        for (var i = 0; i < 15; i++) await BatchAsync();
        var before = await StatementsAsync(connection);
        const int Measured = 30;
        for (var i = 0; i < Measured; i++) await BatchAsync();
        var after = await StatementsAsync(connection);

        var replanned = after
            .Select(a => (a.Value.Query, Calls: a.Value.Calls - before.GetValueOrDefault(a.Key).Calls, Plans: a.Value.Plans - before.GetValueOrDefault(a.Key).Plans))
            .Where(s => s.Calls >= Measured && s.Plans >= s.Calls / 2)
            .ToList();
        Assert.True(after.Values.Count(s => s.Calls >= Measured && s.Query.StartsWith("SELECT", StringComparison.Ordinal)) >= 5,
            "the batch's reads did not run once per batch: pg_stat_statements did not count this database");
        foreach (var s in after.Values.Where(s => s.Calls >= Measured)) output.WriteLine($"{s.Plans} plans / {s.Calls} calls in all: {s.Query}");
        Assert.True(replanned.Count == 0, $"planned on (almost) every one of {Measured} one-account batches:\n" +
            string.Join("\n", replanned.Select(s => $"{s.Plans} plans / {s.Calls} calls: {s.Query}")));
    }

    private static async Task EnsureStatementStatisticsAsync(NpgsqlConnection connection)
    {
        try
        {
            await using (var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection)) await create.ExecuteNonQueryAsync();
            await using var show = new NpgsqlCommand("SHOW pg_stat_statements.track_planning", connection);
            Assert.True((string?)await show.ExecuteScalarAsync() == "on",
                "pg_stat_statements.track_planning is off: the plans counted would all be 0 (tests/scripts/start-postgres.sh turns it on)");
            await using var probe = new NpgsqlCommand("SELECT COUNT(*) FROM pg_stat_statements", connection);
            await probe.ExecuteScalarAsync();
        }
        catch (PostgresException ex)
        {
            throw new InvalidOperationException(
                "pg_stat_statements is not loaded by this PostgreSQL server: run tests/scripts/start-postgres.sh, which preloads it.", ex);
        }
    }

    private static async Task<Dictionary<long, (string Query, long Calls, long Plans)>> StatementsAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT queryid, query, calls, plans FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL
            """, connection);
        var statements = new Dictionary<long, (string, long, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            // One row per statement, user and top-level flag: summed per statement.
            var id = reader.GetInt64(0);
            var (query, calls, plans) = statements.GetValueOrDefault(id, (reader.GetString(1), 0, 0));
            statements[id] = (query, calls + reader.GetInt64(2), plans + reader.GetInt64(3));
        }
        return statements;
    }
}
