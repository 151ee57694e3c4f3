using AiGateway.Pricing;

namespace AiGateway.Metering;

/// <summary>
/// The metered call pipeline's log lines (event ids 2001–2999): request ids, amounts and counts only, never prompt
/// text, keys or bodies.
/// </summary>
internal static partial class MeteringLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Request {RequestId}: ledger unavailable at admission; refusing with 503")]
    public static partial void LedgerUnavailableAtAdmission(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Request {RequestId}: metered call failed")]
    public static partial void MeteredCallFailed(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Settlement journal: database still unavailable ({Count} entries waiting)")]
    public static partial void JournalStillWaiting(ILogger logger, int count);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Settlement journal: applied {Count} entries")]
    public static partial void JournalApplied(ILogger logger, int count);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Settlement journal replay failed")]
    public static partial void JournalReplayFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Request {RequestId}: video job {VideoId} not recorded; charging at creation")]
    public static partial void VideoJobNotRecorded(ILogger logger, Exception exception, string requestId, string videoId);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Request {RequestId}: client left; the upstream was read on to its usage report")]
    public static partial void ClientLeftUsageRead(ILogger logger, string requestId);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Request {RequestId}: stream ended without a usage report ({Reason}); charging counted tokens")]
    public static partial void StreamWithoutUsage(ILogger logger, string requestId, string reason);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Request {RequestId}: cost {Cost} exceeds the hold {Held} on a no-debt plan; charging the hold")]
    public static partial void CostAboveNoDebtHold(ILogger logger, string requestId, Credits cost, Credits held);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Error, Message = "Request {RequestId}: settlement failed, database unavailable")]
    public static partial void SettlementDatabaseUnavailable(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning,
        Message = "Request {RequestId}: {Source} usage beyond what the request allowed (input {Input}, output {Output}, images {Images}, video seconds {Seconds}); charging at the bound (input {BoundInput}, output {BoundOutput})")]
    public static partial void UsageBeyondBound(ILogger logger, string requestId, string source, long input, long output, int images, int seconds, long boundInput, long boundOutput);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Request {RequestId}: hold was {Status} at settlement; charging {Cost} credits directly")]
    public static partial void HoldGoneAtSettlement(ILogger logger, string requestId, Ledger.SettleStatus status, Credits cost);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Request {RequestId}: release failed, database unavailable; the hold will expire")]
    public static partial void ReleaseDatabaseUnavailable(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "Request {RequestId}: {Kind} journaled locally (database unavailable); it is replayed when the database answers")]
    public static partial void Journaled(ILogger logger, string requestId, string kind);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "Skipping an unreadable settlement journal line (torn write)")]
    public static partial void JournalLineUnreadable(ILogger logger);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Error, Message = "Request {RequestId}: the call record could not be stored (charged {Charged} micro-credits); journaling it")]
    public static partial void CallRecordNotStored(ILogger logger, Exception exception, string requestId, long charged);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Warning, Message = "Video job {VideoId}: still {Status} at its bound; giving it up and releasing its hold")]
    public static partial void VideoJobGivenUp(ILogger logger, string videoId, string status);

    [LoggerMessage(EventId = 2018, Level = LogLevel.Warning, Message = "Video job {VideoId}: could not resolve it now; retrying later")]
    public static partial void VideoJobResolveLater(ILogger logger, Exception exception, string videoId);

    [LoggerMessage(EventId = 2019, Level = LogLevel.Warning, Message = "Video job {VideoId}: cluster {Cluster} is not configured; cannot poll it")]
    public static partial void VideoJobClusterMissing(ILogger logger, string videoId, string cluster);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "Video job {VideoId}: status poll answered {Status}")]
    public static partial void VideoJobPollAnswered(ILogger logger, string videoId, int status);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Video job {VideoId}: status poll failed ({Error})")]
    public static partial void VideoJobPollFailed(ILogger logger, string videoId, string error);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Warning, Message = "Video job polling round failed")]
    public static partial void VideoJobRoundFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Warning, Message = "A batch of {Count} call records failed; storing them one by one")]
    public static partial void CallRecordBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Warning, Message = "Video job {VideoId}: could not resolve its hold now")]
    public static partial void VideoJobHoldNotResolved(ILogger logger, Exception exception, string videoId);

    [LoggerMessage(EventId = 2025, Level = LogLevel.Warning, Message = "Request {RequestId}: its credit hold expired while the call was in flight; stopping the call")]
    public static partial void HoldExpiredInFlight(ILogger logger, string requestId);

    [LoggerMessage(EventId = 2026, Level = LogLevel.Warning,
        Message = "Hold renewal failed (ledger unavailable) for {Count} calls in flight; stopping {AtRisk} whose hold could expire first")]
    public static partial void HoldRenewalUnavailable(ILogger logger, Exception exception, int count, int atRisk);

    [LoggerMessage(EventId = 2027, Level = LogLevel.Error, Message = "Hold renewal failed")]
    public static partial void HoldRenewalFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2028, Level = LogLevel.Error,
        Message = "Request {RequestId}: its record (stored with its charge) could not be corrected with how the call ended")]
    public static partial void CallRecordCorrectionNotStored(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 2029, Level = LogLevel.Warning,
        Message = "Request {RequestId}: settling with its record in one transaction failed; settling alone, the record follows")]
    public static partial void SettlementWithRecordFailed(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Warning,
        Message = "Request {RequestId}: its record's correction (how the call ended) could not be stored now; journaling it")]
    public static partial void CallRecordCorrectionJournaled(ILogger logger, Exception exception, string requestId);
}
