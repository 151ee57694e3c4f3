namespace AiGateway.Hosting;

/// <summary>The host's log lines (event ids 1001–1999).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "{StartupHelp}")]
    public static partial void StartupHelp(ILogger logger, string startupHelp);
}
