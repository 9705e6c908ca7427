package org.flexidepth4j.tokenizer.template;

import java.util.List;

/** The loop variable of a for loop: loop.index, loop.first, loop.cycle(...), ... */
final class Loop {
    final List<Object> items;
    final int index0;
    final int depth;

    Loop(List<Object> items, int index0, int depth) {
        this.items = items;
        this.index0 = index0;
        this.depth = depth;
    }

    Object attribute(String name) {
        int n = items.size();
        return switch (name) {
            case "index0" -> (long) index0;
            case "index" -> index0 + 1L;
            case "revindex" -> (long) (n - index0);
            case "revindex0" -> n - index0 - 1L;
            case "first" -> index0 == 0;
            case "last" -> index0 == n - 1;
            case "length" -> (long) n;
            case "depth" -> (long) depth;
            case "depth0" -> depth - 1L;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
            case "nextitem" -> index0 + 1 < n ? items.get(index0 + 1) : new Undefined("there is no next item");
            case "cycle" -> (PyCallable) (args, kwargs) -> {
                if (args.isEmpty()) throw new TemplateException("no items for cycling given");
                return args.get(index0 % args.size());
            };
            default -> Undefined.attribute(this, name);
        };
    }

    @Override
    public String toString() {
        return "<LoopContext " + (index0 + 1) + "/" + items.size() + ">";
    }
}
