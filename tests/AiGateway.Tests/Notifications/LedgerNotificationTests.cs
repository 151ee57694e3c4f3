using System.Text.Json.Nodes;
using AiGateway.Ledger;
using AiGateway.Notifications;
using AiGateway.Pricing;
using AiGateway.Storage;
using AiGateway.Tests.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace AiGateway.Tests.Notifications;

/// <summary>
/// The outbox rows the ledger writes in its own transactions: one event per account, type and episode, from the values
/// the ledger change already has; nothing when no endpoint is configured.
/// </summary>
public abstract class LedgerNotificationTests<TFixture>(TFixture db) : IClassFixture<TFixture> where TFixture : LedgerDatabaseFixture
{
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero));

    private static NotificationOutbox Outbox(Action<NotificationOptions>? configure = null)
    {
        var options = new NotificationOptions
        {
            Endpoints = [new WebhookEndpointOptions { Name = "main", Url = "http://127.0.0.1:9/hook", Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }],
            LowBalanceCredits = 10,
        };
        configure?.Invoke(options);
        return new NotificationOutbox(Microsoft.Extensions.Options.Options.Create(options));
    }

    private CreditLedger Ledger(NotificationOutbox? outbox = null) => db.CreateLedger(_clock, notifications: outbox ?? Outbox());

    private static async Task SpendAsync(CreditLedger ledger, Guid account, decimal credits)
    {
        var id = Guid.NewGuid().ToString("N");
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, Credits.FromDecimal(credits), id)).Status);
        Assert.Equal(SettleStatus.Settled, (await ledger.SettleAsync(id, Credits.FromDecimal(credits))).Status);
    }

    private Task GrantAsync(CreditLedger ledger, Guid account, decimal credits) =>
        ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromDecimal(credits), null, null, "test", null);

    private async Task<List<(NotificationEvent Event, JsonNode Data, List<NotificationDelivery> Deliveries)>> EventsAsync(Guid account, string? type = null)
    {
        await using var context = new LedgerDbContext(db.Options);
        var events = await context.NotificationEvents.AsNoTracking().Where(e => e.AccountId == account && (type == null || e.Type == type))
            .OrderBy(e => e.Id).ToListAsync();
        var result = new List<(NotificationEvent, JsonNode, List<NotificationDelivery>)>();
        foreach (var e in events)
        {
            var deliveries = await context.NotificationDeliveries.AsNoTracking().Where(d => d.EventId == e.Id).ToListAsync();
            result.Add((e, JsonNode.Parse(e.Payload)!["data"]!, deliveries));
        }
        return result;
    }

    [Fact]
    public async Task Settle_CrossesThresholdThenHoversBelow_OneBalanceLowEventWithOnePendingDelivery()
    {
        var account = await db.CreateAccountAsync();
        var ledger = Ledger();
        await GrantAsync(ledger, account, 30);

        await SpendAsync(ledger, account, 15); // 15 left: above 10
        var before = await EventsAsync(account);
        await SpendAsync(ledger, account, 6);  // 9: crosses
        await SpendAsync(ledger, account, 1);  // 8, 7: hovering below
        await SpendAsync(ledger, account, 1);

        Assert.Empty(before);
        var events = await EventsAsync(account);
        var (e, data, deliveries) = Assert.Single(events);
        Assert.Equal(NotificationEventTypes.BalanceLow, e.Type);
        Assert.StartsWith("msg_", e.Id);
        Assert.Equal((9m, 15m, 10m), (data["balance"]!.GetValue<decimal>(), data["balanceBefore"]!.GetValue<decimal>(), data["threshold"]!.GetValue<decimal>()));
        Assert.Equal(account, data["accountId"]!.GetValue<Guid>());
        var delivery = Assert.Single(deliveries);
        Assert.Equal(("main", "pending", 0), (delivery.Endpoint, delivery.Status, delivery.Attempts));
    }

    [Fact]
    public async Task Settle_GrantBackAboveThreshold_RearmsSoTheNextCrossingNotifiesAgain_ASmallerGrantDoesNot()
    {
        var account = await db.CreateAccountAsync();
        var ledger = Ledger();
        await GrantAsync(ledger, account, 12);
        await SpendAsync(ledger, account, 3);   // 9: first episode
        await GrantAsync(ledger, account, 0.5m); // 9.5: still below, not re-armed
        await SpendAsync(ledger, account, 1);   // 8.5: no event
        var afterSmallGrant = (await EventsAsync(account)).Count;
        await GrantAsync(ledger, account, 5);   // 13.5: back above, re-armed
        await SpendAsync(ledger, account, 4);   // 9.5: second episode

        Assert.Equal(1, afterSmallGrant);
        var events = await EventsAsync(account, NotificationEventTypes.BalanceLow);
        Assert.Equal(2, events.Count);
        Assert.Equal(["episode:1", "episode:2"], events.Select(x => x.Event.Episode));
        Assert.NotEqual(events[0].Event.Id, events[1].Event.Id);
        Assert.Equal(9.5m, events[1].Data["balance"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Settle_PercentOfLastGrant_ThresholdFollowsTheGrant()
    {
        var account = await db.CreateAccountAsync();
        var ledger = Ledger(Outbox(o => { o.LowBalanceCredits = null; o.LowBalancePercent = 25; }));
        await GrantAsync(ledger, account, 40); // threshold 10

        await SpendAsync(ledger, account, 30); // 10: not below
        var atThreshold = (await EventsAsync(account)).Count;
        await SpendAsync(ledger, account, 0.000001m);

        Assert.Equal(0, atThreshold);
        var (_, data, _) = Assert.Single(await EventsAsync(account));
        Assert.Equal(10m, data["threshold"]!.GetValue<decimal>());
        Assert.Equal(9.999999m, data["balance"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Settle_20ParallelSettlementsOnSeparateInstancesAcrossTheThreshold_ExactlyOneEvent()
    {
        var account = await db.CreateAccountAsync();
        var outbox = Outbox(o => o.LowBalanceCredits = 50);
        var reserver = Ledger(outbox);
        await GrantAsync(reserver, account, 100);
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add($"p-{account}-{i}");
            Assert.Equal(ReserveStatus.Reserved, (await reserver.ReserveAsync(account, Credits.FromCredits(3), ids[i])).Status);
        }
        using var start = new ManualResetEventSlim();
        var tasks = ids.Select(id => Task.Run(async () =>
        {
            var instance = Ledger(outbox);
            start.Wait();
            return await instance.SettleAsync(id, Credits.FromCredits(3));
        })).ToList();
        start.Set();
        await Task.WhenAll(tasks);

        // 100 → 40 in steps of 3 with a threshold of 50: crossed once, whichever settlement did it.
        var (_, data, _) = Assert.Single(await EventsAsync(account));
        Assert.True(data["balance"]!.GetValue<decimal>() < 50m && data["balanceBefore"]!.GetValue<decimal>() >= 50m, data.ToJsonString());
    }

    [Fact]
    public async Task Reserve_RefusedForLackOfCredits_FirstRefusalOnlyUntilAGrant()
    {
        var account = await db.CreateAccountAsync();
        var ledger = Ledger(Outbox(o => o.LowBalanceCredits = null));
        await GrantAsync(ledger, account, 1);

        var first = await ledger.ReserveAsync(account, Credits.FromCredits(2), $"r1-{account}");
        await ledger.ReserveAsync(account, Credits.FromCredits(2), $"r2-{account}");
        var charge = await ledger.ChargeAsync(account, Credits.FromCredits(5), $"c1-{account}");
        var beforeGrant = (await EventsAsync(account)).Count;
        await GrantAsync(ledger, account, 1);
        await ledger.ReserveAsync(account, Credits.FromCredits(3), $"r3-{account}");

        Assert.Equal(ReserveStatus.InsufficientCredits, first.Status);
        Assert.Equal(SettleStatus.InsufficientCredits, charge.Status);
        Assert.Equal(1, beforeGrant);
        var events = await EventsAsync(account, NotificationEventTypes.CreditsExhausted);
        Assert.Equal(["episode:1", "episode:2"], events.Select(x => x.Event.Episode));
        Assert.Equal((1m, 2m, $"r1-{account}"), (events[0].Data["available"]!.GetValue<decimal>(),
            events[0].Data["requested"]!.GetValue<decimal>(), events[0].Data["requestId"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Reserve_TaskBudgetRefusals_OneEventPerTaskAndBudget()
    {
        var account = await db.CreateAccountAsync();
        var ledger = Ledger(Outbox(o => o.LowBalanceCredits = null));
        await GrantAsync(ledger, account, 100);

        await ledger.ReserveAsync(account, Credits.FromCredits(2), $"a-{account}", default, "agent", Credits.FromCredits(3));
        var refused = await ledger.ReserveAsync(account, Credits.FromCredits(2), $"b-{account}", default, "agent");
        await ledger.ReserveAsync(account, Credits.FromCredits(2), $"c-{account}", default, "agent");
        await ledger.ReserveAsync(account, Credits.FromCredits(5), $"d-{account}", default, "other", Credits.FromCredits(4));

        Assert.Equal(ReserveStatus.TaskBudgetExceeded, refused.Status);
        var events = await EventsAsync(account, NotificationEventTypes.TaskBudgetExhausted);
        Assert.Equal(["agent", "other"], events.Select(x => x.Data["task"]!.GetValue<string>()).Order());
        Assert.Equal(3m, events.Single(x => x.Data["task"]!.GetValue<string>() == "agent").Data["budget"]!.GetValue<decimal>());
        Assert.Empty(await EventsAsync(account, NotificationEventTypes.CreditsExhausted));
    }

    [Fact]
    public async Task Reserve_PlanCreditsIssuedLazily_OneEventPerIssuedLot()
    {
        var account = await db.CreateAccountAsync("combo"); // 50 monthly + 5 daily
        var ledger = Ledger(Outbox(o => o.LowBalanceCredits = null));

        await ledger.ReserveAsync(account, Credits.FromCredits(1), $"a-{account}");
        await ledger.ReserveAsync(account, Credits.FromCredits(1), $"b-{account}");
        await Ledger(Outbox(o => o.LowBalanceCredits = null)).ReserveAsync(account, Credits.FromCredits(1), $"c-{account}");

        var events = await EventsAsync(account, NotificationEventTypes.PlanCreditsIssued);
        Assert.Equal([5m, 50m], events.Select(x => x.Data["credits"]!.GetValue<decimal>()).Order());
        Assert.All(events, x => Assert.Equal("combo", x.Data["plan"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Ledger_NoEndpointConfigured_WritesNoNotificationRows()
    {
        var account = await db.CreateAccountAsync("combo");
        var ledger = Ledger(Outbox(o => o.Endpoints.Clear()));
        await GrantAsync(ledger, account, 12);

        await SpendAsync(ledger, account, 11);
        await ledger.ReserveAsync(account, Credits.FromCredits(100), $"x-{account}");

        await using var context = new LedgerDbContext(db.Options);
        Assert.Equal(0, await context.NotificationEvents.CountAsync(e => e.AccountId == account));
        Assert.Equal(0, await context.NotificationAccounts.CountAsync(n => n.AccountId == account));
    }

    [Fact]
    public async Task ExpiryScan_TwoInstancesScanTwice_OneEventPerLotWithinTheWindow_PlanLotsLeftOut()
    {
        var account = await db.CreateAccountAsync("combo");
        var ledger = Ledger();
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(20), null, 3, "soon", null);
        await ledger.GrantAsync(account, CreditKinds.Addon, Credits.FromCredits(20), null, 30, "later", null);
        await ledger.ReserveAsync(account, Credits.FromCredits(1), $"a-{account}"); // issues the plan's lots (expiring this month/day)
        var outbox = Outbox();
        var first = new LotExpiryScanService(Ledger(outbox).Writer, outbox, _clock, NullLogger<LotExpiryScanService>.Instance);
        var second = new LotExpiryScanService(Ledger(outbox).Writer, outbox, _clock, NullLogger<LotExpiryScanService>.Instance);

        var written = await Task.WhenAll(first.ScanAsync(), second.ScanAsync());
        var again = await first.ScanAsync();

        Assert.Equal((1, 0), (written.Sum(), again));
        var (_, data, _) = Assert.Single(await EventsAsync(account, NotificationEventTypes.LotExpiring));
        Assert.Equal(20m, data["remaining"]!.GetValue<decimal>());
        Assert.Equal(_clock.GetUtcNow().AddDays(3), data["expiresAt"]!.GetValue<DateTimeOffset>());
    }
}

public sealed class SqliteLedgerNotificationTests(SqliteLedgerFixture db) : LedgerNotificationTests<SqliteLedgerFixture>(db);

public sealed class PostgresLedgerNotificationTests(PostgresLedgerFixture db) : LedgerNotificationTests<PostgresLedgerFixture>(db);
