namespace AiGateway.Hosting;

/// <summary><c>AiGateway --healthcheck URL</c>: exits 0 when the URL answers 2xx (for container health checks; the runtime image has no curl).</summary>
public static class HealthCheckCommand
{
    /// <summary>Whether the arguments ask for a health check instead of starting the gateway.</summary>
    public static bool IsRequested(string[] args) => args.Length == 2 && args[0] == "--healthcheck";

    /// <summary>Probes the URL and returns the process exit code.</summary>
    public static async Task<int> RunAsync(string url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(url);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception)
        {
            return 1;
        }
    }
}
