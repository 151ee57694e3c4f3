using System.ComponentModel.DataAnnotations;

namespace AiGateway.History;

/// <summary>Settings of usage rollups, SQLite WAL upkeep and retention, bound from the <c>History</c> configuration section.</summary>
public sealed class HistoryOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "History";

    /// <summary>How often the rollup step catches up with new call records.</summary>
    public TimeSpan RollupInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most call ids one rollup transaction covers (keeps each write short).</summary>
    [Range(1, 1_000_000)]
    public int RollupChunk { get; set; } = 5_000;

    /// <summary>SQLite: how often a background checkpoint copies the WAL into the database and truncates it; zero turns it off.</summary>
    public TimeSpan SqliteCheckpointInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether the retention step archives and deletes old history; off by default (it needs <see cref="ArchivePath"/>).</summary>
    public bool RetentionEnabled { get; set; }

    /// <summary>Call records older than this many months (whole calendar months, UTC) are archived, then deleted.</summary>
    [Range(1, 1200)]
    public int CallRetentionMonths { get; set; } = 13;

    /// <summary>The folder the monthly archives and their manifest are written to (any path the operator mounts).</summary>
    public string ArchivePath { get; set; } = "data/archive";

    /// <summary>How often the retention step runs.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>
    /// Settled and released holds, and the hold/release movements of resolved holds, older than this are deleted
    /// (<see cref="HoldCompaction"/>; on by default, no archive needed: they explain no balance); zero keeps them.
    /// </summary>
    public TimeSpan ResolvedHoldRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The most rows one retention delete removes (keeps each write short).</summary>
    [Range(1, 1_000_000)]
    public int RetentionDeleteBatch { get; set; } = 2_000;
}
