using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Tests.Api;

/// <summary>Writes accounts, call records and ledger movements straight into a test database, for the history tests.</summary>
internal static class HistorySeed
{
    /// <summary>Creates an account and returns its id.</summary>
    public static async Task<Guid> AccountAsync(DbContextOptions<LedgerDbContext> options, string name = "history")
    {
        await using var db = new LedgerDbContext(options);
        var account = new Account { Id = Guid.NewGuid(), Name = name, CreatedAt = DateTimeOffset.UtcNow };
        db.Accounts.Add(account);
        await db.SaveChangesAsync();
        return account.Id;
    }

    /// <summary>A call record of an account with varied model, feature, task, key and status (deterministic from <paramref name="n"/>).</summary>
    public static CallRecord Call(Guid account, int n, DateTimeOffset startedAt, Guid? key = null) => new()
    {
        RequestId = $"req-{Guid.NewGuid():N}",
        AccountId = account,
        KeyId = key ?? KeyOf(account, n),
        Route = "openai",
        Provider = "openai",
        Model = (n % 3) switch { 0 => "gpt-4o", 1 => "gpt-4o-mini", _ => "o3" },
        PricedModel = "gpt-4o",
        Operation = "chat",
        InputTokens = 100 + n % 17,
        CachedInputTokens = n % 5,
        OutputTokens = 50 + n % 13,
        ReasoningTokens = n % 7,
        ChargedMicro = n % 11 == 0 ? 0 : 1_000 + n,
        OverageMicro = n % 23 == 0 ? 7 : 0,
        StatusCode = n % 11 == 0 ? 502 : 200,
        UsageSource = "provider",
        Feature = (n % 4) switch { 0 => null, 1 => "chat", 2 => "search", _ => "summarize" },
        Task = n % 5 == 0 ? $"task-{n % 3}" : null,
        StartedAt = startedAt,
        DurationMs = 10,
    };

    private static Guid KeyOf(Guid account, int n)
    {
        var bytes = account.ToByteArray();
        bytes[15] = (byte)(n % 2);
        return new Guid(bytes);
    }

    /// <summary>Inserts call records.</summary>
    public static async Task CallsAsync(DbContextOptions<LedgerDbContext> options, IEnumerable<CallRecord> calls)
    {
        await using var db = new LedgerDbContext(options);
        db.CallRecords.AddRange(calls);
        await db.SaveChangesAsync();
    }

    /// <summary>Inserts one settle movement per call (and a grant), as the ledger would for charged calls.</summary>
    public static async Task MovementsAsync(DbContextOptions<LedgerDbContext> options, Guid account, IEnumerable<CallRecord> calls)
    {
        await using var db = new LedgerDbContext(options);
        var lot = new CreditLot { AccountId = account, Kind = "bonus", Amount = 1_000_000_000, Remaining = 1_000_000_000, Reason = "seed",
            EffectiveAt = DateTimeOffset.UnixEpoch, CreatedAt = DateTimeOffset.UnixEpoch };
        db.CreditLots.Add(lot);
        await db.SaveChangesAsync();
        db.LedgerEntries.Add(new LedgerEntry { AccountId = account, At = DateTimeOffset.UnixEpoch, Type = LedgerEntryTypes.Grant, Amount = lot.Amount, LotId = lot.Id });
        foreach (var c in calls)
        {
            db.LedgerEntries.Add(new LedgerEntry { AccountId = account, At = c.StartedAt, Type = LedgerEntryTypes.Hold, Amount = c.ChargedMicro, RequestId = c.RequestId });
            db.LedgerEntries.Add(new LedgerEntry { AccountId = account, At = c.StartedAt, Type = LedgerEntryTypes.Settle, Amount = c.ChargedMicro, RequestId = c.RequestId, LotId = lot.Id });
        }
        await db.SaveChangesAsync();
    }
}
