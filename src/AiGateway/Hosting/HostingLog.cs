namespace AiGateway.Hosting;

/// <summary>The host's log lines (event ids 1001–1999).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "{StartupHelp}")]
    public static partial void StartupHelp(ILogger logger, string startupHelp);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Quiet after a burst: returned GC memory, committed {BeforeMiB} MiB -> {AfterMiB} MiB")]
    public static partial void MemoryTrimmed(ILogger logger, long beforeMiB, long afterMiB);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Applying schema migration {Migration} (a large ledger may take minutes)")]
    public static partial void MigrationStarting(ILogger logger, string migration);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Applied schema migration {Migration} in {Seconds:0.0} s")]
    public static partial void MigrationApplied(ILogger logger, string migration, double seconds);
}
