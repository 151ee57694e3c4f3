namespace AiGateway.History;

/// <summary>The history jobs' log lines (event ids 6001–6999): archive files and counts.</summary>
internal static partial class HistoryLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Archived {Count} call records of {Month} to {File}")]
    public static partial void Archived(ILogger logger, long count, string month, string file);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "WAL checkpoint found readers on older snapshots; retried next tick")]
    public static partial void CheckpointBusy(ILogger logger);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "WAL checkpoint failed")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Retention archived {Archived} and deleted {Deleted} call records")]
    public static partial void RetentionRan(ILogger logger, long archived, long deleted);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Warning, Message = "Retention run failed")]
    public static partial void RetentionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Warning, Message = "Usage rollup step failed")]
    public static partial void RollupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Information, Message = "Deleted {Movements} hold movements and {Holds} resolved holds")]
    public static partial void HoldsCompacted(ILogger logger, long movements, long holds);
}
