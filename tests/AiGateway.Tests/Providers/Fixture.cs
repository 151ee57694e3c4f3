using System.Buffers;
using System.Text;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

/// <summary>Reads the shared provider fixtures copied next to the test assembly.</summary>
internal static class Fixture
{
    /// <summary>The bytes of <c>Fixtures/{relativePath}</c>.</summary>
    public static byte[] Bytes(string relativePath) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", relativePath));

    /// <summary>The fixture with every LF replaced by <paramref name="lineEnding"/>.</summary>
    public static byte[] WithLineEnding(string relativePath, string lineEnding) =>
        Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Bytes(relativePath)).Replace("\n", lineEnding));

    /// <summary>Runs a whole body through a new observer in the given chunks and returns what the client received.</summary>
    public static byte[] Observe(StreamObserver observer, params byte[][] chunks)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in chunks) observer.Process(chunk, output);
        observer.Complete(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A UTF-8 string as bytes.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
