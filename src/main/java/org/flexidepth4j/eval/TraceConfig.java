package org.flexidepth4j.eval;

import java.nio.file.Path;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;

/**
 * What {@link Tracer#run} needs: exactly one of {@code textFile} (documents separated by blank lines) and
 * {@code promptsFile} (JSONL of {"prompt": ...}).
 *
 * @param generate       greedy tokens to generate after each document
 * @param maxDocs        documents to trace; 0 = all
 * @param contextLength  tokens per document including generated ones (longer documents are cut)
 * @param plugin         the plug-in file the policy routes with, recorded in summary.json and layers.html; null for none
 */
public record TraceConfig(Model model, SkipPolicy policy, Path textFile, Path promptsFile, int generate, Path out, int maxDocs,
                          int contextLength, boolean progress, String plugin) {
    public TraceConfig {
        if ((textFile == null) == (promptsFile == null)) throw new IllegalArgumentException("give exactly one of --file and --prompts");
        if (generate < 0) throw new IllegalArgumentException("--generate must be >= 0");
        if (maxDocs < 0) throw new IllegalArgumentException("--limit must be >= 0");
        if (contextLength <= generate + 1) throw new IllegalArgumentException("context length " + contextLength + " leaves no room for the document and " + generate + " generated tokens");
        if (out == null) throw new IllegalArgumentException("--out is required");
    }
}
