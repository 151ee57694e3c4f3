using WireMock.Admin.Requests;
using WireMock.Logging;

namespace AiGateway.MockUpstream;

/// <summary>
/// WireMock.Net's errors (a stub whose response cannot be built answers 500) on standard error, so a failing test
/// shows why its upstream misbehaved; WireMock.Net's info and warnings (every unmatched request) stay silent.
/// </summary>
internal sealed class ErrorLogger : IWireMockLogger
{
    public void Debug(string formatString, params object[] args)
    {
    }

    public void Info(string formatString, params object[] args)
    {
    }

    public void Warn(string formatString, params object[] args)
    {
    }

    public void Error(string formatString, params object[] args) =>
        Console.Error.WriteLine("[MockUpstream] " + (args.Length == 0 ? formatString : string.Format(formatString, args)));

    public void Error(string message, Exception exception) => Console.Error.WriteLine($"[MockUpstream] {message}: {exception}");

    public void DebugRequestResponse(LogEntryModel logEntryModel, bool isAdminRequest)
    {
    }
}
