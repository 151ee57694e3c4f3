using System.Text.Json.Nodes;

namespace AiGateway.MockUpstream;

// The demo upstream of scripts/run.sh: serves the WireMock-format mappings of a directory on 127.0.0.1 and, given the
// gateway's proxy config, writes a shell file that points every cluster at it (so no demo call reaches a real provider).
//   dotnet AiGateway.MockUpstream.dll --port 8089 --mappings scripts/demo/mappings [--proxy-config config/proxy.json --env-file data/demo.env]
internal static class DemoUpstream
{
    private static async Task Main(string[] args)
    {
        var options = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
        var port = int.Parse(options.GetValueOrDefault("port", "8089"));
        var mappings = options.GetValueOrDefault("mappings", "scripts/demo/mappings");

        using var server = MockUpstreamServer.Start(port, recordRequests: false);
        var count = server.StubDirectory(mappings);
        Console.WriteLine($"Demo upstream (WireMock.Net) on {server.BaseUrl}: {count} mappings from {mappings}");

        if (options.TryGetValue("proxy-config", out var proxyConfig) && options.TryGetValue("env-file", out var envFile))
        {
            // Every destination of every cluster goes to <base>/<cluster>/; the mappings are grouped the same way.
            var clusters = JsonNode.Parse(File.ReadAllText(proxyConfig))?["ReverseProxy"]?["Clusters"] as JsonObject
                           ?? throw new InvalidDataException($"{proxyConfig}: no ReverseProxy:Clusters");
            var lines = new List<string>();
            foreach (var (cluster, node) in clusters)
            {
                if (node?["Destinations"] is JsonObject destinations)
                {
                    foreach (var (destination, _) in destinations)
                    {
                        lines.Add($"export ReverseProxy__Clusters__{cluster}__Destinations__{destination}__Address={server.BaseUrl}/{cluster}/");
                    }
                }
                if (node?["Metadata"]?["ApiKeyVariable"]?.GetValue<string>() is { Length: > 0 } keyVariable)
                {
                    // A placeholder provider key: the demo upstream ignores it, and a real key is never needed.
                    lines.Add($"export {keyVariable}=demo-{cluster}");
                }
                if (!Directory.EnumerateFiles(mappings, "*.json").Any(f => File.ReadAllText(f).Contains($"\"/{cluster}/", StringComparison.Ordinal)))
                {
                    Console.Error.WriteLine($"warning: no demo mapping serves cluster '{cluster}' (paths under /{cluster}/)");
                }
            }
            File.WriteAllLines(envFile, lines);
        }

        var stopped = new TaskCompletionSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopped.TrySetResult(); };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stopped.TrySetResult();
        await stopped.Task;
    }
}
