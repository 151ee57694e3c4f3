namespace AiGateway.Tokenizers;

/// <summary>
/// Image input tokens by OpenAI's published tile formula (vision guide, "Calculating costs"): detail "low" costs 85;
/// "high"/"auto" scales the image to fit 2048×2048, then so its shortest side is 768, and costs 170 per 512-px tile + 85.
/// </summary>
/// <remarks>
/// Images are only scaled down, never up. When the size is unknown (remote URL, undecodable data) we assume the
/// high-detail cost of a 1024×1024 image, 765 tokens. Models with other image rules (gpt-4o-mini's larger constants,
/// patch-based gpt-4.1-mini/nano) are not modelled.
/// </remarks>
public static class ImageTokenCounter
{
    /// <summary>Tokens for a low-detail image.</summary>
    public const int LowDetailTokens = 85;

    /// <summary>Tokens assumed for a high/auto-detail image of unknown size (a 1024×1024 image: 4 tiles).</summary>
    public const int UnknownSizeTokens = 765;

    /// <summary>Tokens for an image of known size and detail ("low", "high", "auto" or null = auto).</summary>
    public static int Count(int width, int height, string? detail)
    {
        if (string.Equals(detail, "low", StringComparison.OrdinalIgnoreCase)) return LowDetailTokens;
        if (width <= 0 || height <= 0) return UnknownSizeTokens;
        double w = width, h = height;
        if (w > 2048 || h > 2048)
        {
            double s = 2048 / Math.Max(w, h);
            w *= s;
            h *= s;
        }
        double shortest = Math.Min(w, h);
        if (shortest > 768)
        {
            double s = 768 / shortest;
            w *= s;
            h *= s;
        }
        long tiles = (long)Math.Ceiling(w / 512) * (long)Math.Ceiling(h / 512);
        return (int)(170 * tiles + 85);
    }

    /// <summary>Tokens for an image URL (https or data URL); sizes are read from base64 PNG/JPEG/GIF/WebP data URLs.</summary>
    public static int CountUrl(string? url, string? detail)
    {
        if (string.Equals(detail, "low", StringComparison.OrdinalIgnoreCase)) return LowDetailTokens;
        if (url != null && ImageDimensions.TryFromDataUrl(url, out int w, out int h)) return Count(w, h, detail);
        return UnknownSizeTokens;
    }
}
