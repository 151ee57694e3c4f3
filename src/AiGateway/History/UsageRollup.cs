namespace AiGateway.History;

/// <summary>
/// The calls of one account in one UTC hour with one key, model, feature, task and status, summed: what usage summaries
/// and the dashboard chart read instead of the calls themselves (an hour, not a day, so a summary at any whole-hour
/// time-zone offset still falls on bucket edges).
/// </summary>
public sealed class UsageRollup : IUsageRollupCounts
{
    /// <summary>The account.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The start of the UTC hour, in ticks (arithmetic on it groups hours into local days in the database).</summary>
    public long HourStart { get; set; }

    /// <summary>The gateway key.</summary>
    public Guid KeyId { get; set; }

    /// <summary>The model as the client named it.</summary>
    public required string Model { get; set; }

    /// <summary>The feature tag, empty for none.</summary>
    public required string Feature { get; set; }

    /// <summary>The task id, empty for none.</summary>
    public required string Task { get; set; }

    /// <summary>The HTTP status the client received.</summary>
    public int StatusCode { get; set; }

    /// <summary>How many calls.</summary>
    public long Calls { get; set; }

    /// <summary>Summed input tokens.</summary>
    public long InputTokens { get; set; }

    /// <summary>Summed cached input tokens.</summary>
    public long CachedInputTokens { get; set; }

    /// <summary>Summed output tokens.</summary>
    public long OutputTokens { get; set; }

    /// <summary>Summed reasoning tokens.</summary>
    public long ReasoningTokens { get; set; }

    /// <summary>Summed charges in micro-credits.</summary>
    public long ChargedMicro { get; set; }

    /// <summary>Summed overage in micro-credits.</summary>
    public long OverageMicro { get; set; }
}

/// <summary>
/// The calls of one account in one UTC day with one key, model, feature, task and status, summed: the daily level of
/// <see cref="UsageRollup"/>, folded in the same transaction from the same calls, so a summary reads one row per day and
/// combination for the whole days of its range (about 24 times fewer rows than the hours) and hours only at the ends.
/// </summary>
public sealed class UsageDailyRollup : IUsageRollupCounts
{
    /// <summary>The account.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The start of the UTC day, in ticks.</summary>
    public long DayStart { get; set; }

    /// <summary>The gateway key.</summary>
    public Guid KeyId { get; set; }

    /// <summary>The model as the client named it.</summary>
    public required string Model { get; set; }

    /// <summary>The feature tag, empty for none.</summary>
    public required string Feature { get; set; }

    /// <summary>The task id, empty for none.</summary>
    public required string Task { get; set; }

    /// <summary>The HTTP status the client received.</summary>
    public int StatusCode { get; set; }

    /// <summary>How many calls.</summary>
    public long Calls { get; set; }

    /// <summary>Summed input tokens.</summary>
    public long InputTokens { get; set; }

    /// <summary>Summed cached input tokens.</summary>
    public long CachedInputTokens { get; set; }

    /// <summary>Summed output tokens.</summary>
    public long OutputTokens { get; set; }

    /// <summary>Summed reasoning tokens.</summary>
    public long ReasoningTokens { get; set; }

    /// <summary>Summed charges in micro-credits.</summary>
    public long ChargedMicro { get; set; }

    /// <summary>Summed overage in micro-credits.</summary>
    public long OverageMicro { get; set; }
}

/// <summary>
/// The calls of one account in one UTC day with one model and status, summed: the narrow level a summary by day or by
/// model reads for whole days (a handful of rows per day however many keys, features and tasks the account uses),
/// folded in the same transaction from the same calls as <see cref="UsageRollup"/> and <see cref="UsageDailyRollup"/>.
/// </summary>
public sealed class UsageDailyTotal : IModelUsageCounts
{
    /// <summary>The account.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The start of the UTC day, in ticks.</summary>
    public long DayStart { get; set; }

    /// <summary>The model as the client named it.</summary>
    public required string Model { get; set; }

    /// <summary>The HTTP status the client received.</summary>
    public int StatusCode { get; set; }

    /// <summary>How many calls.</summary>
    public long Calls { get; set; }

    /// <summary>Summed input tokens.</summary>
    public long InputTokens { get; set; }

    /// <summary>Summed cached input tokens.</summary>
    public long CachedInputTokens { get; set; }

    /// <summary>Summed output tokens.</summary>
    public long OutputTokens { get; set; }

    /// <summary>Summed reasoning tokens.</summary>
    public long ReasoningTokens { get; set; }

    /// <summary>Summed charges in micro-credits.</summary>
    public long ChargedMicro { get; set; }

    /// <summary>Summed overage in micro-credits.</summary>
    public long OverageMicro { get; set; }
}

/// <summary>
/// The calls of one account in one UTC day with one task (empty for none) and status, summed: what a summary by task
/// reads for whole days (one row per task and status a day, not one per key × model × feature as well), folded with the
/// other levels in one transaction.
/// </summary>
public sealed class UsageDailyTask
{
    /// <summary>The account.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The start of the UTC day, in ticks.</summary>
    public long DayStart { get; set; }

    /// <summary>The task id, empty for none.</summary>
    public required string Task { get; set; }

    /// <summary>The HTTP status the client received.</summary>
    public int StatusCode { get; set; }

    /// <summary>How many calls.</summary>
    public long Calls { get; set; }

    /// <summary>Summed input tokens.</summary>
    public long InputTokens { get; set; }

    /// <summary>Summed cached input tokens.</summary>
    public long CachedInputTokens { get; set; }

    /// <summary>Summed output tokens.</summary>
    public long OutputTokens { get; set; }

    /// <summary>Summed reasoning tokens.</summary>
    public long ReasoningTokens { get; set; }

    /// <summary>Summed charges in micro-credits.</summary>
    public long ChargedMicro { get; set; }

    /// <summary>Summed overage in micro-credits.</summary>
    public long OverageMicro { get; set; }
}

/// <summary>
/// The calls of one account in one UTC half hour with one model and status, summed: what a summary by day at a
/// time-zone offset reads for the part of each UTC day that belongs to another local day, and for the ends of its
/// range. Half hours, so every offset of whole or half hours (+05:30, −09:30) falls on bucket edges; only an offset
/// like +05:45 leaves one straddling half hour a day to be summed from the calls.
/// </summary>
public sealed class UsageHalfHourTotal : IModelUsageCounts
{
    /// <summary>The account.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The start of the UTC half hour, in ticks.</summary>
    public long HalfHourStart { get; set; }

    /// <summary>The model as the client named it.</summary>
    public required string Model { get; set; }

    /// <summary>The HTTP status the client received.</summary>
    public int StatusCode { get; set; }

    /// <summary>How many calls.</summary>
    public long Calls { get; set; }

    /// <summary>Summed input tokens.</summary>
    public long InputTokens { get; set; }

    /// <summary>Summed cached input tokens.</summary>
    public long CachedInputTokens { get; set; }

    /// <summary>Summed output tokens.</summary>
    public long OutputTokens { get; set; }

    /// <summary>Summed reasoning tokens.</summary>
    public long ReasoningTokens { get; set; }

    /// <summary>Summed charges in micro-credits.</summary>
    public long ChargedMicro { get; set; }

    /// <summary>Summed overage in micro-credits.</summary>
    public long OverageMicro { get; set; }
}

/// <summary>
/// What every level kept per model and status holds besides its time bucket (the rollups and the narrow totals), so a
/// summary by model groups any of them with the same query (each entity class keeps its own properties: each level is
/// its own table, with its columns in its own order).
/// </summary>
public interface IModelUsageCounts
{
    /// <summary>The model as the client named it.</summary>
    string Model { get; }

    /// <summary>The HTTP status the client received.</summary>
    int StatusCode { get; }

    /// <summary>How many calls.</summary>
    long Calls { get; }

    /// <summary>Summed input tokens.</summary>
    long InputTokens { get; }

    /// <summary>Summed cached input tokens.</summary>
    long CachedInputTokens { get; }

    /// <summary>Summed output tokens.</summary>
    long OutputTokens { get; }

    /// <summary>Summed reasoning tokens.</summary>
    long ReasoningTokens { get; }

    /// <summary>Summed charges in micro-credits.</summary>
    long ChargedMicro { get; }
}

/// <summary>
/// What both rollup levels (hourly, daily) hold besides their time bucket, so a summary groups either level by key,
/// model, feature or task with the same query.
/// </summary>
public interface IUsageRollupCounts : IModelUsageCounts
{
    /// <summary>The gateway key.</summary>
    Guid KeyId { get; }

    /// <summary>The feature tag, empty for none.</summary>
    string Feature { get; }

    /// <summary>The task id, empty for none.</summary>
    string Task { get; }
}

/// <summary>A durable position of a background history step (e.g. the last call id rolled up), shared by every instance.</summary>
public sealed class HistoryWatermark
{
    /// <summary>The step's name, e.g. <c>usage_rollups</c>.</summary>
    public required string Name { get; set; }

    /// <summary>The position reached (a call id for the rollups).</summary>
    public long Position { get; set; }

    /// <summary>When it last moved.</summary>
    public DateTimeOffset UpdatedAt { get; set; }
}
