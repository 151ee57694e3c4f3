namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>One in-process WireMock.Net server for the whole test run, started on first use; it lives and dies with the test process.</summary>
public static class SharedWireMock
{
    private static readonly Lazy<Task<WireMockServer>> Server = new(StartAsync);

    /// <summary>The shared server.</summary>
    public static Task<WireMockServer> GetAsync() => Server.Value;

    private static async Task<WireMockServer> StartAsync()
    {
        var server = await WireMockServer.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
        return server;
    }
}
