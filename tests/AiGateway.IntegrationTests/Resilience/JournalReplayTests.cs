using AiGateway.IntegrationTests.Infrastructure;
using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>
/// The settlement journal's replay (<see cref="SettlementReplayService"/>): a journaled call — its settlement and its
/// record, written to the journal while the database was down — is applied as the call would have been: the charge and
/// the record in one ledger transaction (a crash between two would leave a charge without its record until the next
/// replay), the record showing the charge, the journal emptied; a second replay changes nothing.
/// </summary>
public sealed class JournalReplayTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;

    public async Task InitializeAsync() => _upstream = (await SharedWireMock.GetAsync()).NewScope();

    public Task DisposeAsync() => Task.CompletedTask;

    private static CallRecord Record(Guid account, string requestId) => new()
    {
        RequestId = requestId, AccountId = account, KeyId = Guid.Empty, Route = "openai", Provider = "openai", Model = "gpt-4o",
        Operation = "OpenAiChatCompletions", UsageSource = "provider", StatusCode = 200, InputTokens = 11, OutputTokens = 7,
        EstimateMicro = 90_000, StartedAt = DateTimeOffset.UtcNow,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AJournaledCall_ItsChargeAndRecordAreAppliedInOneTransaction(bool leased)
    {
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["Ledger:Leases"] = leased ? "true" : "false",
            // Only this test replays (the service's own pass runs at start, on an empty journal).
            ["Metering:JournalReplayInterval"] = "01:00:00",
            ["Ledger:SweepInterval"] = "01:00:00",
            ["Ledger:LeaseRefreshInterval"] = "01:00:00",
            ["Ledger:LeaseTtl"] = "03:00:00",
            ["History:RollupInterval"] = "01:00:00",
        });
        var (accountId, _, _) = await gateway.CreateAccountWithKeyAsync(credits: 50);
        var ledger = gateway.Services.GetRequiredService<CreditLedger>();
        var journal = gateway.Services.GetRequiredService<SettlementJournal>();
        var replay = gateway.Services.GetRequiredService<SettlementReplayService>();
        var requestId = $"req_journal_{Guid.NewGuid():N}";
        const long Cost = 61_000;
        if (!leased)
        {
            // The exact hold the call was admitted with (leases off); a leased call's hold lived in memory only.
            var hold = await ledger.ReserveAsync(accountId, new Credits(90_000), requestId);
            Assert.Equal(ReserveStatus.Reserved, hold.Status);
        }
        await journal.AppendAsync(new SettlementJournal.Entry(SettlementJournal.Entry.Settle, requestId, accountId, Held: true, Cost, null, Leased: leased));
        await journal.AppendAsync(new SettlementJournal.Entry(SettlementJournal.Entry.RecordKind, requestId, accountId, Held: true, 0, Record(accountId, requestId)));

        // Every database write the gateway makes: the ledger's transactions and the writer's other (EF) writes.
        var writer = gateway.Services.GetRequiredService<DatabaseWriter>();
        var before = writer.Transactions + writer.Writes;
        Assert.Equal(2, await replay.ReplayOnceAsync());
        var transactions = writer.Transactions + writer.Writes - before;
        Assert.True(transactions == 1, $"the replay of one journaled call took {transactions} database transactions, expected 1 (charge and record together)");

        var (charge, record, held) = await gateway.WithDbAsync(async db => (
            await db.CreditCharges.Where(c => c.RequestId == requestId).Select(c => (long?)c.Amount).SingleOrDefaultAsync(),
            await db.CallRecords.Where(r => r.RequestId == requestId).SingleOrDefaultAsync(),
            await db.CreditHolds.Where(h => h.AccountId == accountId && h.Status == "active").CountAsync()));
        Assert.Equal(Cost, charge);
        Assert.NotNull(record);
        Assert.Equal((Cost, 0L, "provider", 11L), (record!.ChargedMicro, record.OverageMicro, record.UsageSource, record.InputTokens));
        Assert.Equal(0, held);
        Assert.Empty(await journal.ReadAllAsync());

        // Nothing left to apply; the charge stays single.
        Assert.Equal(0, await replay.ReplayOnceAsync());
        var charges = await gateway.WithDbAsync(db => db.CreditCharges.CountAsync(c => c.AccountId == accountId && c.RequestId.StartsWith(requestId)));
        Assert.Equal(1, charges);
    }
}
