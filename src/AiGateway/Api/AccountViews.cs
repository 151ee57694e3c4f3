namespace AiGateway.Api;

/// <summary>One activity-ledger movement as the account APIs show it (credits as decimal numbers).</summary>
/// <param name="Direction"><c>in</c> (adds to available), <c>out</c> (takes from it) or <c>adjust</c> (a correction such as overage debt repaid).</param>
public sealed record LedgerEntryView(
    long Id, DateTimeOffset At, string Type, string Direction, decimal Amount, decimal AvailableAfter,
    long? LotId, string? LotKind, string? LotReason, string? RequestId, string? Model, string? Note);

/// <summary>A page of activity-ledger movements, newest first; pass <see cref="NextCursor"/> as <c>cursor</c> for the next page.</summary>
public sealed record LedgerPage(IReadOnlyList<LedgerEntryView> Items, string? NextCursor);

/// <summary>Totals of a set of calls: counts, tokens and credits.</summary>
public sealed record UsageTotals(long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, long ReasoningTokens, decimal Credits);

/// <summary>Calls and credits of one model inside a day bucket, so a chart can stack days by model.</summary>
public sealed record ModelSlice(string Model, long Calls, decimal Credits);

/// <summary>One bucket of a usage summary: a day (<c>yyyy-MM-dd</c>), a model, a key id or a feature tag (empty for none).</summary>
/// <param name="Label">A human name for the bucket (the key's name and prefix when grouping by key; otherwise the key).</param>
/// <param name="Statuses">Calls per HTTP status code the client received, e.g. <c>{"200": 12, "402": 1}</c>.</param>
/// <param name="Models">Per-model breakdown; only when grouping by day, otherwise null.</param>
public sealed record UsageBucket(
    string Key, string Label, long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, long ReasoningTokens,
    decimal Credits, IReadOnlyDictionary<string, long> Statuses, IReadOnlyList<ModelSlice>? Models);

/// <summary>A usage summary over <c>[From, To)</c>; days are calendar days at <see cref="TzOffsetMinutes"/> from UTC.</summary>
public sealed record UsageSummary(
    DateTimeOffset From, DateTimeOffset To, string GroupBy, int TzOffsetMinutes, UsageTotals Totals, IReadOnlyList<UsageBucket> Buckets);

/// <summary>An account in the admin account list.</summary>
public sealed record AccountListItem(Guid Id, string Name, string? Plan, DateTimeOffset CreatedAt);

/// <summary>A page of accounts, oldest first; pass <see cref="NextCursor"/> as <c>cursor</c> for the next page.</summary>
public sealed record AccountListPage(IReadOnlyList<AccountListItem> Items, string? NextCursor);

/// <summary>A gateway key as admins see it: never its hash or plaintext, only the visible prefix.</summary>
public sealed record KeyView(Guid Id, string Name, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>A page of an account's keys, oldest first.</summary>
public sealed record KeyPage(IReadOnlyList<KeyView> Items, string? NextCursor);
