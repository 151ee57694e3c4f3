namespace AiGateway.Ledger;

/// <summary>The ledger's log lines (event ids 5001–5999): counts and instance ids; never account data.</summary>
internal static partial class LedgerLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Returned {Count} credit leases held by this instance ({Instance}) before it restarted")]
    public static partial void LeasesReturnedAfterRestart(ILogger logger, int count, string instance);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Credit lease refresh failed; leases stop admitting calls before they expire")]
    public static partial void LeaseRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "A ledger batch of {Count} items failed; writing them one by one")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Ledger sweep failed")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Recorded {Count} calls this instance ({Instance}) admitted before it restarted as interrupted")]
    public static partial void AdmissionsInterrupted(ILogger logger, int count, string instance);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "The local admission log {Path} cannot be written; leased calls hold exactly in the database meanwhile")]
    public static partial void AdmissionLogFailed(ILogger logger, Exception exception, string path);
}
