using Yarp.ReverseProxy.Forwarder;

namespace AiGateway.Proxy;

/// <summary>The proxy's log lines (event ids 3001–3999): request ids, destinations and statuses; never keys.</summary>
internal static partial class ProxyLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Request {RequestId}: {Destination} answered {Status}; retrying")]
    public static partial void RetryingAnswer(ILogger logger, string requestId, string destination, int? status);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Request {RequestId}: {Destination} failed ({Error}); retrying")]
    public static partial void RetryingFailure(ILogger logger, string requestId, string destination, ForwarderError error);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Provider key {Variable} for cluster {Cluster} is not set; calls are forwarded without a provider key")]
    public static partial void ProviderKeyMissing(ILogger logger, string variable, string? cluster);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Request {RequestId}: provider {Cluster} refused the gateway's credentials ({Status}); check its provider key")]
    public static partial void CredentialsRefused(ILogger logger, string requestId, string cluster, int status);
}
