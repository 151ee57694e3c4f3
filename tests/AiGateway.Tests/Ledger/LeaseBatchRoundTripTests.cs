using System.Globalization;
using System.Text;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// Batches of leased settlements on PostgreSQL (<c>CreditLedger.LeaseBatches.cs</c>): a bounded number of round trips
/// whatever the number of calls and accounts, and the same rows and results as the statement-per-row path SQLite runs
/// (the oracle) for a batch with several accounts, a scoped lot (used by a call it applies to, skipped by one it does
/// not), overage, a request id settled before, an unknown
/// account, call records (one replacing an <c>interrupted</c> record, one kept) and admission markers.
/// </summary>
public sealed class LeaseBatchRoundTripTests(SqliteLedgerFixture sqlite, PostgresLedgerFixture postgres)
    : IClassFixture<SqliteLedgerFixture>, IClassFixture<PostgresLedgerFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CallScope Opus = new("refly/claude-opus-4", "text");
    private static readonly CallScope Kimi = new("refly/kimi-k2", "text");

    [Fact]
    public async Task Postgres_SettlementBatch_TakesTheSameFewRoundTripsForOneCallOrTwentyFour()
    {
        var ledger = postgres.CreateLedger(new ManualTimeProvider(Start), o => o.Leases = true);
        var tag = $"rt-{Guid.NewGuid():N}";
        var accounts = new Guid[3];
        for (var i = 0; i < accounts.Length; i++)
        {
            accounts[i] = await CreateAccountAsync(postgres, $"{tag}-{i}");
            await ledger.GrantAsync(accounts[i], CreditKinds.Addon, Credits.FromDecimal(1000), null, null, $"{tag}-base-{i}", null);
            await ledger.GrantAsync(accounts[i], CreditKinds.Bonus, Credits.FromDecimal(5), Start.AddDays(3), null, $"{tag}-bonus-{i}", null);
            await ledger.ResizeLeaseAsync(accounts[i], tag, 0, Credits.FromDecimal(100).Micro, 1, 0.5, 1, returnOnly: false, CancellationToken.None);
        }

        async Task<long> BatchAsync(string name, int calls)
        {
            var items = Enumerable.Range(0, calls).Select(n => new CreditLedger.LeasedSettlement(
                accounts[n % accounts.Length], $"{tag}-{name}-{n}", Credits.FromDecimal(3).Micro, Credits.FromDecimal(2).Micro, null, tag,
                Credits.FromDecimal(2).Micro)).ToList();
            var records = items.Select(i => Record(i.AccountId, i.RequestId, "provider", i.Actual)).ToList();
            var before = ledger.RoundTrips;
            var result = await ledger.SettleLeasedBatchAsync(items, records, new CreditLedger.AdmissionBatch(tag, "[]", []));
            Assert.All(result.Settled, r => Assert.Equal(SettleStatus.Settled, r.Status));
            Assert.All(result.Settled, r => Assert.NotNull(r.ChargeId));
            Assert.NotNull(result.MarkerId);
            return ledger.RoundTrips - before;
        }

        var one = await BatchAsync("one", 1);
        var many = await BatchAsync("many", 24);
        // Two: the reads, then the writes with the COMMIT at their end.
        Assert.True(one == 2 && many == one,
            $"a batch of 1 settlement took {one} round trips, a batch of 24 (three accounts, records, a marker) took {many}: expected 2 whatever the size");
    }

    /// <summary>
    /// An exact hold and its release on PostgreSQL: the hold in two round trips (reads under the lock; the writes with the
    /// COMMIT), the release in two as well (the lock, then the leases, the hold and the lots read under it in one batch;
    /// the writes with the COMMIT) — eight before the COMMIT rode with the writes and the release wrote in one batch,
    /// five before it read in one. Both resolve as before.
    /// </summary>
    [Fact]
    public async Task Postgres_ExactHoldAndRelease_CommitWithTheirWrites()
    {
        var ledger = postgres.CreateLedger(new ManualTimeProvider(Start));
        var tag = $"rel-{Guid.NewGuid():N}";
        var account = await CreateAccountAsync(postgres, tag);
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromDecimal(10), null, null, $"{tag}-base", null);

        var before = ledger.RoundTrips;
        var hold = await ledger.ReserveAsync(account, Credits.FromDecimal(4), $"{tag}-r");
        var afterHold = ledger.RoundTrips;
        var released = await ledger.ReleaseAsync($"{tag}-r");
        var afterRelease = ledger.RoundTrips;

        Assert.Equal((ReserveStatus.Reserved, 6m), (hold.Status, hold.Available.ToDecimal()));
        Assert.Equal((ReleaseStatus.Released, 4m, 10m), (released.Status, released.Released.ToDecimal(), released.Available.ToDecimal()));
        Assert.Equal((2L, 2L), (afterHold - before, afterRelease - afterHold));
        var again = await ledger.ReleaseAsync($"{tag}-r");
        Assert.Equal((ReleaseStatus.AlreadyReleased, 0m, 10m), (again.Status, again.Released.ToDecimal(), again.Available.ToDecimal()));
        await using var db = new LedgerDbContext(postgres.Options);
        var row = await db.CreditHolds.AsNoTracking().SingleAsync(h => h.RequestId == $"{tag}-r");
        Assert.Equal(HoldStatuses.Released, row.Status);
        Assert.Equal(0L, await db.LedgerAccountStates.Where(a => a.AccountId == account).Select(a => a.Held).SingleAsync());
        var entries = await db.LedgerEntries.AsNoTracking().Where(e => e.RequestId == $"{tag}-r").OrderBy(e => e.Id).Select(e => new { e.Type, e.Amount, e.AvailableAfter }).ToListAsync();
        Assert.Equal(["hold:4000000:6000000", "release:4000000:10000000"], entries.Select(e => $"{e.Type}:{e.Amount}:{e.AvailableAfter}"));
    }

    [Fact]
    public async Task Postgres_MixedBatch_WritesTheSameRowsAndResultsAsTheStatementPerRowPath()
    {
        var expected = await ScenarioAsync(sqlite);
        var actual = await ScenarioAsync(postgres);
        Assert.Equal(expected, actual);
    }

    /// <summary>Runs the mixed batch on a fresh set of accounts and describes what it returned and wrote, ids replaced by names.</summary>
    private static async Task<string> ScenarioAsync(LedgerDatabaseFixture db)
    {
        var ledger = db.CreateLedger(new ManualTimeProvider(Start), o => o.Leases = true);
        var tag = $"mx-{Guid.NewGuid():N}";
        var instance = $"{tag}-i";
        // Ids differing only in their last byte: the batch takes accounts in id order, the same on both databases.
        var prefix = Guid.NewGuid().ToString("N")[..8];
        Guid Id(int n) => Guid.Parse($"{prefix}-0000-0000-0000-00000000000{n}");
        var a = await CreateAccountAsync(db, $"{tag}-A", Id(1));
        var b = await CreateAccountAsync(db, $"{tag}-B", Id(2));
        var c = await CreateAccountAsync(db, $"{tag}-C", Id(3));
        var unknown = Id(4);
        await ledger.GrantAsync(a, CreditKinds.Addon, Credits.FromDecimal(100), null, null, $"{tag}-A-base", null);
        await ledger.GrantAsync(a, CreditKinds.Bonus, Credits.FromDecimal(4), Start.AddDays(10), null, $"{tag}-A-bonus", null);
        await ledger.GrantAsync(a, CreditKinds.Bonus, Credits.FromDecimal(20), Start.AddDays(5), null, $"{tag}-A-opus", null, models: ["refly/claude-opus-*"]);
        await ledger.GrantAsync(b, CreditKinds.Addon, Credits.FromDecimal(30), null, null, $"{tag}-B-base", null);
        await ledger.GrantAsync(c, CreditKinds.Addon, Credits.FromDecimal(1), null, null, $"{tag}-C-base", null);
        foreach (var account in new[] { a, b })
            await ledger.ResizeLeaseAsync(account, instance, 0, Credits.FromDecimal(40).Micro, 1, 0.9, 1, returnOnly: false, CancellationToken.None);

        // Before the batch: a call settled already (its request id comes again), a marker, an interrupted record, a record.
        long Micro(decimal credits) => Credits.FromDecimal(credits).Micro;
        var earlier = await ledger.SettleLeasedBatchAsync(
            [new CreditLedger.LeasedSettlement(a, $"{tag}-dup", Micro(3), Micro(2), null, instance, Micro(2))],
            [Record(b, $"{tag}-kept", "provider", 7)], new CreditLedger.AdmissionBatch(instance, "[]", []));
        await ledger.RecordInterruptedAsync([Record(a, $"{tag}-a1", CallRecord.InterruptedUsageSource, 0)]);

        var items = new List<CreditLedger.LeasedSettlement>
        {
            new(a, $"{tag}-a0", Micro(3), Micro(2), Kimi, instance, Micro(2)),
            new(a, $"{tag}-a1", Micro(5), Micro(3.5m), null, instance, Micro(3.5m)),
            new(b, $"{tag}-b1", Micro(6), Micro(5), null, instance, Micro(5)),
            new(a, $"{tag}-a2", Micro(30), Micro(25), Opus, instance, Micro(25)),
            new(c, $"{tag}-c1", Micro(4), Micro(3), null, null, 0),
            new(a, $"{tag}-dup", Micro(3), Micro(2), null, instance, Micro(2)),
            new(unknown, $"{tag}-u1", Micro(1), Micro(1), null, instance, Micro(1)),
            new(a, $"{tag}-a3", Micro(100), Micro(90), null, instance, Micro(90)),
            new(b, $"{tag}-b2", Micro(1), 0, null, instance, 0),
        };
        var records = new List<CallRecord>
        {
            Record(a, $"{tag}-a1", "provider", Micro(3.5m)), Record(b, $"{tag}-b1", "provider", Micro(5)), Record(b, $"{tag}-kept", "provider", 9),
        };
        var result = await ledger.SettleLeasedBatchAsync(items, records, new CreditLedger.AdmissionBatch(instance, "[]", [earlier.MarkerId!.Value]));

        await using var context = new LedgerDbContext(db.Options);
        await context.Database.OpenConnectionAsync();
        var connection = context.Database.GetDbConnection();
        var lots = await MapAsync(connection, "SELECT id, reason FROM credit_lots WHERE reason LIKE @p", tag);
        var charges = await MapAsync(connection, "SELECT id, request_id FROM credit_charges WHERE request_id LIKE @p", tag);
        var text = new StringBuilder();
        text.AppendLine($"marker written: {result.MarkerId is not null}");
        foreach (var r in result.Settled)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"result {r.Status} {r.Charged.Micro} {r.Overage.Micro} {r.Available.Micro} repeated={r.Repeated} " +
                $"charge={(r.ChargeId is { } id ? charges[id] : "none")} [{string.Join(", ", r.Allocations.Select(x => $"{lots[x.LotId]}={x.Amount.Micro}"))}]");
        }
        string[] queries =
        [
            "SELECT reason, remaining, consumed FROM credit_lots WHERE reason LIKE @p ORDER BY reason",
            "SELECT a.name, s.held, s.overage FROM ledger_accounts s JOIN accounts a ON a.id = s.account_id WHERE a.name LIKE @p ORDER BY a.name",
            "SELECT a.name, l.instance_id, l.amount FROM credit_leases l JOIN accounts a ON a.id = l.account_id WHERE a.name LIKE @p ORDER BY a.name",
            "SELECT h.request_id, h.amount, h.status, c.request_id FROM credit_holds h LEFT JOIN credit_charges c ON c.id = h.charge_id WHERE h.request_id LIKE @p ORDER BY h.id",
            "SELECT c.request_id, c.amount, c.overage, h.request_id FROM credit_charges c LEFT JOIN credit_holds h ON h.id = c.hold_id WHERE c.request_id LIKE @p ORDER BY c.id",
            """
            SELECT c.request_id, l.reason, x.amount FROM charge_allocations x JOIN credit_charges c ON c.id = x.charge_id
            LEFT JOIN credit_lots l ON l.id = x.lot_id WHERE c.request_id LIKE @p ORDER BY x.id
            """,
            """
            SELECT e.request_id, e.type, e.amount, e.available_after, e.note, h.request_id, c.request_id FROM ledger_entries e
            LEFT JOIN credit_holds h ON h.id = e.hold_id LEFT JOIN credit_charges c ON c.id = e.charge_id WHERE e.request_id LIKE @p ORDER BY e.id
            """,
            "SELECT request_id, usage_source, charged_micro FROM call_records WHERE request_id LIKE @p ORDER BY id",
            "SELECT instance_id, records FROM lease_admissions WHERE instance_id LIKE @p ORDER BY id",
        ];
        foreach (var sql in queries)
        {
            text.AppendLine(sql.Split(" FROM ")[1].Split(' ')[0] + ":");
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@p";
            parameter.Value = tag + "%";
            command.Parameters.Add(parameter);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var row = Enumerable.Range(0, reader.FieldCount)
                    .Select(i => reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture));
                text.AppendLine("  " + string.Join(" | ", row));
            }
        }
        return text.ToString().Replace(tag, "", StringComparison.Ordinal);
    }

    private static async Task<Dictionary<long, string>> MapAsync(System.Data.Common.DbConnection connection, string sql, string tag)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@p";
        parameter.Value = tag + "%";
        command.Parameters.Add(parameter);
        var map = new Dictionary<long, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) map[reader.GetInt64(0)] = reader.GetString(1).Replace(tag, "", StringComparison.Ordinal);
        return map;
    }

    private static async Task<Guid> CreateAccountAsync(LedgerDatabaseFixture db, string name, Guid? id = null)
    {
        await using var context = new LedgerDbContext(db.Options);
        var account = new Account { Id = id ?? Guid.NewGuid(), Name = name, CreatedAt = DateTimeOffset.UtcNow };
        context.Accounts.Add(account);
        await context.SaveChangesAsync();
        return account.Id;
    }

    private static CallRecord Record(Guid account, string requestId, string source, long charged) => new()
    {
        RequestId = requestId, AccountId = account, KeyId = Guid.Empty, Route = "openai", Provider = "openai", Model = "gpt-4o",
        Operation = "OpenAiChatCompletions", UsageSource = source, ChargedMicro = charged, EstimateMicro = 123, StartedAt = DateTimeOffset.UnixEpoch,
    };
}
