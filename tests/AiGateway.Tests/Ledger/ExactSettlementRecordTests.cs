using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// An exact hold settles with its call's record in one transaction (<c>CallSettler.SettleOrChargeAsync</c> with a record):
/// the charge and the record are there together after one commit; a record the database refuses does not cost the
/// charge (the hold settles alone, the record is left to the caller); a repeated settle stores the record a first one
/// without a record did not, showing the first charge.
/// </summary>
public sealed class ExactSettlementRecordTests(SqliteLedgerFixture sqlite, PostgresLedgerFixture postgres)
    : IClassFixture<SqliteLedgerFixture>, IClassFixture<PostgresLedgerFixture>
{
    [Fact]
    public Task Sqlite_ChargeAndRecordCommitTogether_ARefusedRecordDoesNotCostTheCharge() => ScenarioAsync(sqlite);

    [Fact]
    public Task Postgres_ChargeAndRecordCommitTogether_ARefusedRecordDoesNotCostTheCharge() => ScenarioAsync(postgres);

    private static async Task ScenarioAsync(LedgerDatabaseFixture db)
    {
        var ledger = db.CreateLedger(new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero)));
        var account = await db.CreateAccountAsync();
        await ledger.GrantAsync(account, CreditKinds.Bonus, Credits.FromDecimal(10), null, null, "test", null);
        var tag = $"x{Guid.NewGuid():N}"[..12];

        // One commit: the charge and the record, the record showing what was charged.
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, Credits.FromDecimal(2), $"{tag}-1")).Status);
        var transactions = ledger.Transactions;
        var (settled, stored) = await CallSettler.SettleOrChargeAsync(
            ledger, $"{tag}-1", account, Credits.FromDecimal(1.5m), NullLogger.Instance, null, Record(account, $"{tag}-1"));
        Assert.Equal((SettleStatus.Settled, true, 1L), (settled.Status, stored, ledger.Transactions - transactions));
        Assert.Equal((1, 1_500_000L, 1_500_000L), await StoredAsync(db, $"{tag}-1"));

        // The database refuses the record (a required column missing): the hold is charged all the same, without it.
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, Credits.FromDecimal(2), $"{tag}-2")).Status);
        var refused = Record(account, $"{tag}-2");
        refused.Route = null!;
        (settled, stored) = await CallSettler.SettleOrChargeAsync(
            ledger, $"{tag}-2", account, Credits.FromDecimal(1), NullLogger.Instance, null, refused);
        Assert.Equal((SettleStatus.Settled, false, 1_000_000L), (settled.Status, stored, settled.Charged.Micro));
        Assert.Equal((0, 0L, 1_000_000L), await StoredAsync(db, $"{tag}-2"));

        // Its record later, with a repeated settle: stored, showing the first charge (not the repeat's amount).
        (settled, stored) = await CallSettler.SettleOrChargeAsync(
            ledger, $"{tag}-2", account, Credits.FromDecimal(3), NullLogger.Instance, null, Record(account, $"{tag}-2"));
        Assert.Equal((SettleStatus.Settled, true, true), (settled.Status, settled.Repeated, stored));
        Assert.Equal((1, 1_000_000L, 1_000_000L), await StoredAsync(db, $"{tag}-2"));

        // A released hold stores no record here (the caller records the call as released); nothing is charged.
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, Credits.FromDecimal(2), $"{tag}-3")).Status);
        await ledger.ReleaseAsync($"{tag}-3");
        var (released, releasedStored) = await ledger.SettleAsync($"{tag}-3", Credits.FromDecimal(1), Record(account, $"{tag}-3"));
        Assert.Equal((SettleStatus.Released, false), (released.Status, releasedStored));
        Assert.Equal((0, 0L, 0L), await StoredAsync(db, $"{tag}-3"));
    }

    /// <summary>The request's records, what they show as charged, and what its charges add up to.</summary>
    private static async Task<(int Records, long RecordCharged, long Charged)> StoredAsync(LedgerDatabaseFixture db, string requestId)
    {
        await using var context = new LedgerDbContext(db.Options);
        var records = await context.CallRecords.AsNoTracking().Where(r => r.RequestId == requestId).Select(r => r.ChargedMicro).ToListAsync();
        var charged = await context.CreditCharges.AsNoTracking().Where(c => c.RequestId == requestId).SumAsync(c => c.Amount);
        return (records.Count, records.Sum(), charged);
    }

    private static CallRecord Record(Guid account, string requestId) => new()
    {
        RequestId = requestId, AccountId = account, KeyId = Guid.Empty, Route = "openai", Provider = "openai", Model = "gpt-4o",
        Operation = "OpenAiChatCompletions", UsageSource = "provider", StatusCode = 200, StartedAt = DateTimeOffset.UtcNow,
    };
}
