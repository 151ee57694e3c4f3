using System.Globalization;
using System.Text;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// SQLite writes a batch's leased settlements set-based (<c>CreditLedger.SettledRows.cs</c>: multi-row inserts with the
/// hold and charge ids known up front). The statement-per-row path is the definition: the same scenario on two fresh
/// databases, one each way, must leave byte-for-byte the same rows — ids included — and give the same answers.
/// </summary>
public sealed class LeaseBatchSetBasedTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CallScope Opus = new("refly/claude-opus-4", "text");
    private static readonly CallScope Kimi = new("refly/kimi-k2", "text");
    private static readonly Guid A = Guid.Parse("0000000a-0000-0000-0000-000000000001");
    private static readonly Guid B = Guid.Parse("0000000a-0000-0000-0000-000000000002");
    private static readonly Guid C = Guid.Parse("0000000a-0000-0000-0000-000000000003");
    private static readonly Guid D = Guid.Parse("0000000a-0000-0000-0000-000000000004");
    private const string Instance = "instance-1";

    [Fact]
    public async Task SetBasedBatches_WriteTheSameRowsIdsAndAnswersAsStatementPerRow()
    {
        var expected = await ScenarioAsync(setBased: false);
        var actual = await ScenarioAsync(setBased: true);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task RepeatedRequestIds_InOneBatchOrSettledBefore_AreChargedOnce()
    {
        var db = new SqliteLedgerFixture();
        await db.InitializeAsync();
        try
        {
            await using var ledger = db.CreateLedger(new ManualTimeProvider(Start), o => o.Leases = true);
            await CreateAccountAsync(db, A, "A");
            await ledger.GrantAsync(A, CreditKinds.Addon, Credits.FromDecimal(100), null, null, "A-base", null);
            await ledger.ResizeLeaseAsync(A, Instance, 0, Micro(50), 1, 0.9, 1, returnOnly: false, CancellationToken.None);
            var first = await ledger.SettleLeasedBatchAsync([Item(A, "r0", 2)], []);
            Assert.Equal(SettleStatus.Settled, first.Settled[0].Status);

            // r1 twice in one batch; then r0, settled by an earlier batch, next to a new call.
            var twice = await ledger.SettleLeasedBatchAsync([Item(A, "r1", 3), Item(A, "r2", 4), Item(A, "r1", 3)], []);
            Assert.Equal([false, false, true], twice.Settled.Select(r => r.Repeated));
            Assert.Equal(twice.Settled[0].ChargeId, twice.Settled[2].ChargeId);
            var again = await ledger.SettleLeasedBatchAsync([Item(A, "r3", 5), Item(A, "r0", 2)], []);
            Assert.Equal([false, true], again.Settled.Select(r => r.Repeated));
            Assert.Equal(first.Settled[0].ChargeId, again.Settled[1].ChargeId);

            await using var context = new LedgerDbContext(db.Options);
            var charges = await context.Database.SqlQueryRaw<long>("SELECT amount AS \"Value\" FROM credit_charges ORDER BY id").ToListAsync();
            Assert.Equal([Micro(2), Micro(3), Micro(4), Micro(5)], charges);
            var consumed = await context.Database.SqlQueryRaw<long>("SELECT consumed AS \"Value\" FROM credit_lots").SingleAsync();
            Assert.Equal(Micro(14), consumed);
        }
        finally
        {
            await db.DisposeAsync();
        }
    }

    private static long Micro(decimal credits) => Credits.FromDecimal(credits).Micro;

    private static CreditLedger.LeasedSettlement Item(Guid account, string request, decimal actual, CallScope? scope = null, string? instance = Instance) =>
        new(account, request, Micro(actual + 1), Micro(actual), scope, instance, instance is null ? 0 : Micro(actual));

    /// <summary>Runs the scenario on a fresh database one way and describes every money row (ids included) and every answer.</summary>
    private static async Task<string> ScenarioAsync(bool setBased)
    {
        var db = new SqliteLedgerFixture();
        await db.InitializeAsync();
        try
        {
            var text = new StringBuilder();
            await using (var ledger = db.CreateLedger(new ManualTimeProvider(Start), o => o.Leases = true))
            {
                ledger.SqliteSetBasedSettlements = setBased;
                foreach (var (id, name) in new[] { (A, "A"), (B, "B"), (C, "C"), (D, "D") }) await CreateAccountAsync(db, id, name);
                await ledger.GrantAsync(A, CreditKinds.Addon, Credits.FromDecimal(100), null, null, "A-base", null);
                await ledger.GrantAsync(A, CreditKinds.Bonus, Credits.FromDecimal(4), Start.AddDays(10), null, "A-bonus", null);
                await ledger.GrantAsync(A, CreditKinds.Bonus, Credits.FromDecimal(20), Start.AddDays(5), null, "A-opus", null, models: ["refly/claude-opus-*"]);
                await ledger.GrantAsync(B, CreditKinds.Addon, Credits.FromDecimal(30), null, null, "B-base", null);
                await ledger.GrantAsync(B, CreditKinds.Referral, Credits.FromDecimal(1.5m), Start.AddDays(2), null, "B-referral", null);
                await ledger.GrantAsync(C, CreditKinds.Addon, Credits.FromDecimal(1), null, null, "C-base", null);
                await ledger.GrantAsync(D, CreditKinds.Addon, Credits.FromDecimal(10), null, null, "D-base", null);
                foreach (var account in new[] { A, B, D })
                    await ledger.ResizeLeaseAsync(account, Instance, 0, Micro(40), 1, 0.9, 1, returnOnly: false, CancellationToken.None);

                void Describe(string label, CreditLedger.LeaseBatchResult result)
                {
                    foreach (var r in result.Settled)
                    {
                        text.AppendLine(CultureInfo.InvariantCulture, $"{label}: {r.Status} {r.Charged.Micro} {r.Overage.Micro} {r.Available.Micro} " +
                            $"repeated={r.Repeated} charge={r.ChargeId} [{string.Join(", ", r.Allocations.Select(x => $"{x.LotId}={x.Amount.Micro}"))}]");
                    }
                }

                // D's calls, then D goes away (its rows with it): AUTOINCREMENT never hands out their ids again.
                Describe("d", await ledger.SettleLeasedBatchAsync([Item(D, "d0", 1), Item(D, "d1", 2), Item(D, "d2", 3)], []));
                await using (var context = new LedgerDbContext(db.Options))
                {
                    await context.Database.ExecuteSqlRawAsync("DELETE FROM accounts WHERE name = 'D'");
                    Assert.Equal(0, await context.Database.SqlQueryRaw<long>("SELECT COUNT(*) AS \"Value\" FROM credit_holds").SingleAsync());
                }

                // Across lot boundaries (A's bonus 4, then base; B's referral 1.5, then base), scopes, overage (C), zero charges,
                // a call without a lease, three accounts interleaved.
                Describe("1", await ledger.SettleLeasedBatchAsync(
                [
                    Item(A, "a0", 1.5m), Item(B, "b0", 1), Item(A, "a1", 2, Kimi), Item(A, "a2", 6, Opus), Item(C, "c0", 0.75m, instance: null),
                    Item(B, "b1", 2), Item(A, "a3", 1.25m), Item(A, "a4", 0), Item(C, "c1", 2, instance: null), Item(B, "b2", 40),
                    Item(A, "a5", 30, Opus), Item(A, "a6", 7),
                ], []));
                // A repeat of an earlier call (statement per row for A) next to new calls of B (set-based): ids interleave.
                Describe("2", await ledger.SettleLeasedBatchAsync([Item(B, "b3", 1), Item(A, "a7", 2), Item(A, "a3", 1.25m), Item(B, "b4", 0.5m)], []));
                // An exact hold and settlement (AUTOINCREMENT) after the set-based rows, then another batch.
                var hold = await ledger.ReserveAsync(A, Credits.FromDecimal(2), "x0");
                Assert.True(hold.Succeeded);
                var settled = await ledger.SettleAsync("x0", Credits.FromDecimal(1));
                text.AppendLine(CultureInfo.InvariantCulture, $"exact: {settled.Status} {settled.Charged.Micro} charge={settled.ChargeId}");
                Describe("3", await ledger.SettleLeasedBatchAsync(Enumerable.Range(0, 70).Select(n => Item(n % 2 == 0 ? A : B, $"m{n}", 0.125m)).ToList(), []));
            }

            await using var read = new LedgerDbContext(db.Options);
            await read.Database.OpenConnectionAsync();
            var connection = read.Database.GetDbConnection();
            string[] queries =
            [
                "SELECT id, account_id, request_id, amount, status, created_at, expires_at, resolved_at, charge_id, task, fingerprint FROM credit_holds ORDER BY id",
                "SELECT id, account_id, request_id, hold_id, amount, overage, created_at FROM credit_charges ORDER BY id",
                "SELECT id, charge_id, lot_id, amount FROM charge_allocations ORDER BY id",
                "SELECT id, account_id, at, type, amount, available_after, lot_id, hold_id, charge_id, request_id, note FROM ledger_entries ORDER BY id",
                "SELECT id, account_id, remaining, consumed FROM credit_lots ORDER BY id",
                "SELECT account_id, instance_id, amount FROM credit_leases ORDER BY account_id",
                "SELECT account_id, held, overage FROM ledger_accounts ORDER BY account_id",
                "SELECT name, seq FROM sqlite_sequence WHERE name IN ('credit_holds', 'credit_charges', 'charge_allocations', 'ledger_entries') ORDER BY name",
            ];
            foreach (var sql in queries)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = sql;
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    var values = new object[reader.FieldCount];
                    reader.GetValues(values);
                    text.AppendLine(string.Join(" | ", values.Select(v => v is byte[] bytes ? Convert.ToHexString(bytes) : Convert.ToString(v, CultureInfo.InvariantCulture))));
                }
                text.AppendLine("--");
            }
            return text.ToString();
        }
        finally
        {
            await db.DisposeAsync();
        }
    }

    private static async Task CreateAccountAsync(LedgerDatabaseFixture db, Guid id, string name)
    {
        await using var context = new LedgerDbContext(db.Options);
        context.Accounts.Add(new Account { Id = id, Name = name, CreatedAt = Start });
        await context.SaveChangesAsync();
    }
}
